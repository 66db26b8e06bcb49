"""Declarative rules files (TOML or YAML), like dbt's schema tests: each rule becomes one ``data`` gate.

TOML::

    [[rule]]
    type = "relationship"          # unique, not_null, relationship, accepted_values, range, expression,
    table = "order_items"          # freshness, no_future, row_count, reconcile, sql
    column = "order_id"
    to = "orders.id"
    severity = "blocking"          # or "warning"
    thresholds = ["violations <= 5"]
    [rule.environments.dev]        # per-environment overrides: severity, thresholds
    severity = "warning"

Key queries are gates too (``pytest_prodgate.data.query``)::

    [[query]]                      # latency: figures p50, p95, max (seconds) over `runs` executions
    sql = "SELECT id FROM orders WHERE customer_id = :customer"
    params = { customer = 42 }
    runs = 50
    thresholds = ["p95 < 50ms"]
    [[explain]]                    # plan: fails on a full scan of a large table (full_scans == 0)
    sql = "SELECT id FROM orders WHERE customer_id = 42"
    large_tables = ["orders"]      # or min_rows = 100000

YAML: ``rules:`` (and ``query:``, ``explain:``) holding a list of the same mappings. Every mistake is a ``ConfigError`` whose ``where``
is ``FILE:LINE`` and whose message names the rule (``rule #2 (unique)``).
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pytest_prodgate.data.query import CHECK_TYPES, make_check
from pytest_prodgate.data.rules import Rule, make_rule
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.thresholds import parse_thresholds

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["RuleEntry", "apply_overrides", "load_rules", "parse_rules"]

OVERRIDE_KEYS = ("severity", "thresholds")
_TOML_HEADER = re.compile(r"^\s*\[\[\s*(?P<key>rules?|query|explain)\s*\]\]\s*(#.*)?$")
_RULE_KEYS = ("rule", "rules")
_TOP_KEYS = (*_RULE_KEYS, *CHECK_TYPES)


@dataclass(frozen=True)
class RuleEntry:
    """One rule of a rules file, with where it was written."""

    rule: Rule
    path: Path
    line: int
    index: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def load_rules(path: Path | str) -> list[RuleEntry]:
    """Read and validate a rules file; ``.toml``, ``.yaml`` or ``.yml``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("rules file not found", where=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the rules file: {exc.strerror}", where=str(path)) from None
    return parse_rules(text, path)


def parse_rules(text: str, path: Path) -> list[RuleEntry]:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        items, lines = _read_toml(text, path)
    elif suffix in (".yaml", ".yml"):
        items, lines = _read_yaml(text, path)
    else:
        raise ConfigError("a rules file must end in .toml, .yaml or .yml", where=str(path))
    entries: list[RuleEntry] = []
    seen: dict[str, RuleEntry] = {}
    for index, ((key, item), line) in enumerate(sorted(zip(items, lines, strict=True), key=lambda pair: pair[1])):
        entry = _entry(item, path, line, index, key)
        earlier = seen.get(entry.rule.id)
        if earlier is not None:
            raise ConfigError(
                f"rule #{index + 1}: id {entry.rule.id!r} is already used by rule #{earlier.index + 1} "
                f"(line {earlier.line}); give one of them a 'name'",
                where=entry.where,
            )
        seen[entry.rule.id] = entry
        entries.append(entry)
    return entries


def _entry(item: Any, path: Path, line: int, index: int, key: str = "rule") -> RuleEntry:
    where = f"{path}:{line}"
    label = f"rule #{index + 1}"
    if not isinstance(item, Mapping):
        raise ConfigError(f"{label} must be a table of options, got {item!r}", where=where)
    options = dict(item)
    if key in CHECK_TYPES:
        return _check_entry(key, options, path, line, index)
    kind = options.pop("type", None)
    if kind is None:
        raise ConfigError(f"{label} has no 'type' (one of unique, not_null, relationship, ...)", where=where)
    label = f"{label} ({kind}" + (f" on {options['table']})" if isinstance(options.get("table"), str) else ")")
    try:
        rule = make_rule(kind, options)
        label = f"rule {rule.id!r}"
        parse_thresholds(list(rule.thresholds), where=f"{label} thresholds")
        _check_environments(rule)
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}", where=where) from None
    return RuleEntry(rule=rule, path=path, line=line, index=index)


def _check_entry(key: str, options: dict[str, Any], path: Path, line: int, index: int) -> RuleEntry:
    """A ``[[query]]`` or ``[[explain]]`` entry: a key query's latency or plan, as one gate."""
    where = f"{path}:{line}"
    label = f"rule #{index + 1} ({key})"
    if options.pop("type", key) != key:
        raise ConfigError(f"{label}: a [[{key}]] entry takes no other 'type'", where=where)
    try:
        check = make_check(key, options)
        label = f"rule {check.id!r}"
        parse_thresholds(list(check.thresholds), where=f"{label} thresholds")
        if key == "query" and not check.thresholds:
            raise ConfigError('a query entry needs thresholds, e.g. thresholds = ["p95 < 50ms"]')
        _check_environments(check)
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}", where=where) from None
    return RuleEntry(rule=check, path=path, line=line, index=index)


def _check_environments(rule: Rule) -> None:
    if not isinstance(rule.environments, Mapping):
        raise ConfigError("environments must be a table: {NAME = {severity = ..., thresholds = [...]}}")
    for name, override in rule.environments.items():
        if not isinstance(override, Mapping):
            raise ConfigError(f"environments.{name} must be a table of {', '.join(OVERRIDE_KEYS)}")
        for key, value in override.items():
            if key not in OVERRIDE_KEYS:
                raise ConfigError(f"environments.{name}: unknown key {key!r} (overridable: {', '.join(OVERRIDE_KEYS)})")
            if key == "severity" and value not in ("blocking", "warning"):
                raise ConfigError(f"environments.{name}.severity {value!r} is not 'blocking' or 'warning'")
            if key == "thresholds":
                parse_thresholds(value, where=f"environments.{name}.thresholds")


def apply_overrides(rule: Rule, environment: str | None = None, severity: Mapping[str, str] | None = None) -> Rule:
    """The rule as it applies in ``environment``: its own per-environment table, then the
    ``[tool.prodgate.data] severity`` table (rule id or glob -> severity, itself merged per environment)."""
    changes: dict[str, Any] = {}
    if environment and environment in rule.environments:
        override = rule.environments[environment]
        if "severity" in override:
            changes["severity"] = override["severity"]
        if "thresholds" in override:
            value = override["thresholds"]
            changes["thresholds"] = tuple([value] if isinstance(value, str) else value)
    for pattern, level in (severity or {}).items():
        if pattern == rule.id or fnmatch.fnmatchcase(rule.id, pattern):
            changes["severity"] = level
    return replace(rule, **changes) if changes else rule


def _read_toml(text: str, path: Path) -> tuple[list[tuple[str, Any]], list[int]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", where=str(path)) from None
    items = _top_list(data, path)
    # tomllib keeps no positions: the Nth [[query]] header is the Nth query (likewise rule, explain).
    headers: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _TOML_HEADER.match(line)
        if match:
            headers.setdefault(_kind(match["key"]), []).append(number)
    lines: list[int] = []
    seen: dict[str, int] = {}
    for key, item in items:
        found = headers.get(key, [])
        position = seen.get(key, 0)
        seen[key] = position + 1
        lines.append(found[position] if len(found) == sum(1 for k, _ in items if k == key) else _find_line(text, item))
    return items, lines


def _kind(key: str) -> str:
    return "rule" if key in _RULE_KEYS else key


def _find_line(text: str, item: Any) -> int:
    """For rules written inline (``rule = [{...}]``): the first line naming the rule's name or table."""
    if isinstance(item, Mapping):
        for key in ("name", "table", "sql"):
            value = item.get(key)
            if isinstance(value, str) and value:
                for number, line in enumerate(text.splitlines(), start=1):
                    if value in line:
                        return number
    return 1


def _read_yaml(text: str, path: Path) -> tuple[list[tuple[str, Any]], list[int]]:
    try:
        import yaml
    except ImportError:
        raise ConfigError("YAML rules files need PyYAML: pip install pytest-prodgate[yaml]", where=str(path)) from None
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise ConfigError(f"not valid YAML: {first}", where=str(path)) from None
    items = _top_list(data, path)
    positions: dict[str, list[int]] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value in _TOP_KEYS and isinstance(value, yaml.SequenceNode):
                positions[_kind(key.value)] = [node.start_mark.line + 1 for node in value.value]
    lines: list[int] = []
    seen: dict[str, int] = {}
    for key, _ in items:
        position = seen.get(key, 0)
        seen[key] = position + 1
        found = positions.get(key, [])
        lines.append(found[position] if position < len(found) else 1)
    return items, lines


def _top_list(data: Any, path: Path) -> list[tuple[str, Any]]:
    """The entries as ``(kind, options)``: kind ``rule``, ``query`` or ``explain``."""
    if data is None:
        return []
    if not isinstance(data, Mapping):
        raise ConfigError("a rules file holds 'rule' entries ([[rule]] in TOML, rules: [...] in YAML)", where=str(path))
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown top-level key {unknown[0]!r}; rules go in [[rule]] (TOML) or rules: (YAML), "
            "key queries in [[query]] and [[explain]]",
            where=str(path),
        )
    found: list[tuple[str, Any]] = []
    for key in ("rule", "query", "explain"):
        items = data.get(key, data.get("rules", [])) if key == "rule" else data.get(key, [])
        if not isinstance(items, list):
            raise ConfigError(f"'{key}' must be a list of entries ([[{key}]] tables)", where=str(path))
        found += [(key, item) for item in items]
    return found
