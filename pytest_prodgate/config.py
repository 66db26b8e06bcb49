"""``[tool.prodgate]`` configuration: load, validate against a schema, pick an environment, merge.

The base table holds defaults; ``[tool.prodgate.environments.NAME]`` tables override it key by key
(tables merge, lists and scalars replace). Every mistake is a ``ConfigError`` naming the file, the
key and what would be right; the pytest plugin shows it as a one-line usage error (exit code 4).

Each capability declares the schema of its own section as ``SCHEMA`` in its package
(``pytest_prodgate/performance/config.py`` for ``[tool.prodgate.performance]``...), in the small
vocabulary below: a Python type, ``DURATION``, ``THRESHOLDS``, ``ListOf``, ``TableOf``, ``OneOf``,
``ANY``, or a dict for a table with fixed keys.
"""

from __future__ import annotations

import copy
import importlib
import os
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from pytest_prodgate.errors import ConfigError, ThresholdError
from pytest_prodgate.families import CAPABILITIES, FAMILIES

__all__ = [
    "ANY",
    "DURATION",
    "THRESHOLDS",
    "ListOf",
    "OneOf",
    "ProdgateConfig",
    "TableOf",
    "find_pyproject",
    "load_config",
    "load_project",
    "validate",
]


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ANY = _Sentinel("any value")
DURATION = _Sentinel("a duration such as 500ms or 2s")
THRESHOLDS = _Sentinel("a list of thresholds such as ['p95 < 500ms']")


# The schema words are plain classes rather than frozen dataclasses: every pytest run imports this
# module, and generating a frozen dataclass's methods costs about half a millisecond each.
class ListOf:
    __slots__ = ("item",)

    def __init__(self, item: Any) -> None:
        self.item = item

    def __repr__(self) -> str:
        return f"a list of {_describe(self.item)}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ListOf) and other.item == self.item

    def __hash__(self) -> int:
        return hash((ListOf, repr(self.item)))


class TableOf:
    """A table whose keys are free (names chosen by the user) and whose values follow ``value``."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"a table of {_describe(self.value)}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableOf) and other.value == self.value

    def __hash__(self) -> int:
        return hash((TableOf, repr(self.value)))


class OneOf:
    __slots__ = ("choices",)

    def __init__(self, *choices: str) -> None:
        self.choices: tuple[str, ...] = tuple(choices)

    def __repr__(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OneOf) and other.choices == self.choices

    def __hash__(self) -> int:
        return hash((OneOf, self.choices))


# Keys of the base table (and of each environment table).
BASE_SCHEMA: dict[str, Any] = {
    "environment": str,
    "base_url": str,
    "database_url": str,
    "demo": bool,
    "secrets": ListOf(str),
    "timeout": DURATION,
    "allow_skip": TableOf(str),  # node-id glob -> why skipping those gates is fine
}


def _describe(spec: Any) -> str:
    if isinstance(spec, type):
        return {str: "strings", int: "integers", float: "numbers", bool: "booleans"}.get(spec, spec.__name__)
    if isinstance(spec, dict):
        return "tables"
    return repr(spec)


def _type_name(spec: Any) -> str:
    if isinstance(spec, type):
        return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(spec, spec.__name__)
    if isinstance(spec, dict):
        return "a table"
    return repr(spec)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# Every family section accepts these; a capability's ``SCHEMA`` adds its own keys.
FAMILY_SCHEMA: dict[str, Any] = {"thresholds": THRESHOLDS, "allow_skip": str}


def section_schemas(only: Collection[str] | None = None) -> dict[str, Any]:
    """The schema of every section whose capability is installed.

    With ``only``, a capability's schema module is imported only for the sections named there (the
    ones a table actually has); the others stay known keys, checked against nothing, so a run whose
    table has no ``[tool.prodgate.performance]`` never imports the performance family.
    """
    schemas: dict[str, Any] = {family: dict(FAMILY_SCHEMA) for family in FAMILIES}
    for capability in CAPABILITIES:
        if capability.schema is None:
            continue
        if only is not None and capability.name not in only:
            schemas.setdefault(capability.name, ANY)
            continue
        module_name, _, attribute = capability.schema.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        schemas[capability.name] = {**schemas.get(capability.name, {}), **getattr(module, attribute)}
    return schemas


def full_schema(*, with_environments: bool = True, only: Collection[str] | None = None) -> dict[str, Any]:
    """The schema of ``[tool.prodgate]``; ``only`` limits the sections validated (see ``section_schemas``)."""
    schema: dict[str, Any] = dict(BASE_SCHEMA)
    schema.update(section_schemas(only))
    if with_environments:
        schema["environments"] = TableOf(full_schema(with_environments=False, only=only))
    return schema


def section_names(table: Mapping[str, Any]) -> set[str]:
    """The keys of ``table`` and of each of its environment tables: the sections worth validating."""
    names = set(table)
    environments = table.get("environments")
    if isinstance(environments, dict):
        for override in environments.values():
            if isinstance(override, dict):
                names.update(override)
    return names


def validate(value: Any, spec: Any, where: str) -> None:
    """Check ``value`` against ``spec``; ``where`` names it (``[tool.prodgate.performance] users``)."""
    if spec is ANY:
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, got {_show(value)}")
        for key, item in value.items():
            if key not in spec:
                import difflib  # only for a mistake's hint

                hint = difflib.get_close_matches(key, list(spec), n=1)
                known = f"did you mean {hint[0]!r}?" if hint else "known keys: " + ", ".join(sorted(spec))
                raise ConfigError(f"{where}: unknown key {key!r} ({known})")
            validate(item, spec[key], _join(where, key))
        return
    if isinstance(spec, TableOf):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, got {_show(value)}")
        for key, item in value.items():
            validate(item, spec.value, _join(where, key))
        return
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be {spec!r}, got {_show(value)}")
        for index, item in enumerate(value):
            validate(item, spec.item, f"{where}[{index}]")
        return
    if isinstance(spec, OneOf):
        if value not in spec.choices:
            raise ConfigError(f"{where} must be {spec!r}, got {_show(value)}")
        return
    if spec is DURATION or spec is THRESHOLDS:
        # The threshold language loads when a setting needs it, not with every pytest run.
        from pytest_prodgate.thresholds import parse_duration, parse_threshold
    if spec is DURATION:
        try:
            parse_duration(value)
        except ThresholdError:
            raise ConfigError(f"{where}: {_show(value)} is not a duration. Expected e.g. 500ms or 2s") from None
        return
    if spec is THRESHOLDS:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ConfigError(f"{where} must be {spec!r}, got {_show(value)}")
        for index, item in enumerate(items):
            parse_threshold(item, where=f"{where}[{index}]")
        return
    if spec is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif spec is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(spec, tuple):
        ok = isinstance(value, spec)
    else:
        ok = isinstance(value, spec)
    if not ok:
        raise ConfigError(f"{where} must be {_type_name(spec)}, got {_show(value)}")


def _join(where: str, key: str) -> str:
    if where.endswith("]") and where.startswith("[") and " " not in where:
        return f"{where[:-1]}.{key}]" if isinstance(key, str) and key.isidentifier() else f"{where} {key!r}"
    return f"{where} {key}"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; everything else in ``override`` replaces what ``base`` had."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class ProdgateConfig:
    """The validated configuration, merged for the chosen environment (read-only once made)."""

    __slots__ = ("settings", "environment", "path", "environments")
    settings: dict[str, Any]
    environment: str | None
    path: Path | None
    environments: tuple[str, ...]

    def __init__(
        self,
        settings: dict[str, Any] | None = None,
        environment: str | None = None,
        path: Path | None = None,
        environments: tuple[str, ...] = (),
    ) -> None:
        set_ = object.__setattr__
        set_(self, "settings", {} if settings is None else settings)
        set_(self, "environment", environment)
        set_(self, "path", path)
        set_(self, "environments", environments)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ProdgateConfig is read-only (tried to set {name!r})")

    def __repr__(self) -> str:
        return (
            f"ProdgateConfig(environment={self.environment!r}, path={self.path!r}, "
            f"environments={self.environments!r}, settings={self.settings!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProdgateConfig):
            return NotImplemented
        return (self.settings, self.environment, self.path, self.environments) == (
            other.settings,
            other.environment,
            other.path,
            other.environments,
        )

    __hash__ = None  # type: ignore[assignment]  # holds a dict, like the dataclass it replaced

    def section(self, name: str) -> dict[str, Any]:
        value = self.settings.get(name, {})
        return dict(value) if isinstance(value, Mapping) else {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


def read_table(path: Path) -> dict[str, Any]:
    """The ``[tool.prodgate]`` table of a pyproject.toml, or an empty dict."""
    if not path.is_file():
        return {}
    # Imported here: a project without a pyproject.toml does not load a TOML parser for us.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", where=str(path)) from None
    table = data.get("tool", {}).get("prodgate", {})
    if not isinstance(table, dict):
        raise ConfigError("[tool.prodgate] must be a table", where=str(path))
    return table


def load_config(
    path: Path | None,
    environment: str | None = None,
    *,
    table: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> ProdgateConfig:
    """Load, validate and merge ``[tool.prodgate]`` for ``environment``.

    The environment is, in order: the argument, ``PRODGATE_ENV``, the table's ``environment`` key.
    """
    env = os.environ if env is None else env
    raw = dict(table) if table is not None else (read_table(path) if path else {})
    where = str(path) if path else "[tool.prodgate]"
    try:
        validate(raw, full_schema(only=section_names(raw)), "[tool.prodgate]")
    except ConfigError as exc:
        raise exc.located(where) if path else exc from None
    environments = raw.pop("environments", {}) or {}
    chosen = environment or env.get("PRODGATE_ENV") or raw.get("environment") or None
    settings = raw
    if chosen:
        if chosen not in environments:
            known = ", ".join(sorted(environments)) or "none are defined"
            raise ConfigError(
                f"unknown environment {chosen!r} (known: {known}); define [tool.prodgate.environments.{chosen}]",
                where=where,
            )
        settings = deep_merge(raw, environments[chosen])
    return ProdgateConfig(
        settings=settings,
        environment=chosen,
        path=path,
        environments=tuple(sorted(environments)),
    )


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml from ``start`` upwards."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_project(path: Path | None, environment: str | None = None) -> tuple[ProdgateConfig, Path | None, Path]:
    """For a ``prodgate`` command: the configuration of ``path`` (which must exist) or of the nearest
    pyproject.toml above the working directory, that file, and the folder relative paths start from."""
    if path is not None and not path.is_file():
        raise ConfigError(f"no such file: {path}")
    path = path or find_pyproject(Path.cwd())
    config = load_config(path, environment)
    return config, path, path.parent if path is not None else Path.cwd()
