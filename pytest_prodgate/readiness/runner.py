"""Run readiness checks by name from the ``[tool.prodgate.readiness]`` section.

Shared by the collected ``readiness::NAME`` items, the ``readiness`` fixture and ``prodgate readiness``.
Relative paths in the section (``requirements``, ``data_file``, ``project_dir``...) are relative to
``root``, the directory of the pyproject.toml.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.readiness.config import CHECK_NAMES, SECTION, enabled_checks, waivers_of
from pytest_prodgate.readiness.django_checks import DJANGO_CHECKS
from pytest_prodgate.readiness.env import parse_spec
from pytest_prodgate.readiness.result import Finding, ReadinessResult, build_result
from pytest_prodgate.thresholds import parse_duration

__all__ = ["run_check", "run_checks", "validate_section"]


def _key(check: str, key: str) -> str:
    return f"{SECTION[:-1]}.{check}] {key}"


def _options(section: Mapping[str, Any], check: str) -> dict[str, Any]:
    table = "django" if check in DJANGO_CHECKS else check
    return dict(section.get(table, {}) or {})


def _path(root: Path, value: str | None) -> str | None:
    if not value:
        return None
    path = Path(value)
    return str(path if path.is_absolute() else root / path)


def _seconds(options: Mapping[str, Any], default: float) -> float:
    value = options.get("timeout")
    return parse_duration(value) if value is not None else default


def validate_section(section: Mapping[str, Any], names: Iterable[str], *, database_url: str | None = None) -> None:
    """What the schema cannot say: options a switched-on check needs, variable types, waiver reasons."""
    waivers_of(section)
    for name in names:
        if name not in CHECK_NAMES:
            raise ConfigError(f"{SECTION[:-1]}] checks: unknown check {name!r}; known: {', '.join(CHECK_NAMES)}")
        options = _options(section, name)
        if name == "env":
            for variable, spec in (options.get("required") or {}).items():
                parse_spec(variable, spec, where=f"{SECTION[:-1]}.env.required]")
        elif name in DJANGO_CHECKS and not options.get("settings"):
            raise ConfigError(f"{_key('django', 'settings')} is required by {name!r} (e.g. 'mysite.settings')")
        elif name == "alembic" and not (options.get("config") or options.get("script_location")):
            raise ConfigError(f"{_key('alembic', 'config')} (or script_location) is required by 'alembic'")
        elif name in ("database", "alembic") and not (options.get("url") or options.get("urls") or database_url):
            raise ConfigError(
                f"{_key(name, 'url')} is required by {name!r}: no database_url in [tool.prodgate], "
                "PRODGATE_DATABASE_URL or demo service to fall back on"
            )


def run_check(
    name: str,
    section: Mapping[str, Any],
    *,
    root: Path | None = None,
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    secret_names: Iterable[str] = (),
    base_url: str | None = None,
) -> ReadinessResult:
    """Run one check with its options from ``section``."""
    return run_checks(
        [name],
        section,
        root=root,
        database_url=database_url,
        environ=environ,
        secret_names=secret_names,
        base_url=base_url,
    )[name]


def run_checks(
    names: Iterable[str] | None,
    section: Mapping[str, Any],
    *,
    root: Path | None = None,
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    secret_names: Iterable[str] = (),
    base_url: str | None = None,
) -> dict[str, ReadinessResult]:
    """Run ``names`` (default: the switched-on checks); the Django ones share one probe process.

    ``base_url`` is the target the ``serving`` check looks at unless its table names a ``url``.
    """
    root = root or Path.cwd()
    chosen = list(names) if names is not None else enabled_checks(section)
    validate_section(section, chosen, database_url=database_url)
    waivers = waivers_of(section)
    results: dict[str, ReadinessResult] = {}
    django_names = [n for n in chosen if n in DJANGO_CHECKS]
    if django_names:
        from pytest_prodgate.readiness.django_checks import check_django

        options = _options(section, "django")
        results.update(
            check_django(
                options["settings"],
                django_names,
                project_dir=_path(root, options.get("project_dir")) or str(root),
                # A path (".venv/bin/python") is relative to the pyproject.toml's folder; a bare name is looked up on PATH.
                python=_path(root, options["python"])
                if "/" in str(options.get("python") or "")
                else options.get("python"),
                options=options,
                waivers=waivers,
                timeout=_seconds(options, 5.0) + 60.0,  # per connection, plus Django start-up
            )
        )
    for name in chosen:
        if name == "serving":
            results[name] = _run_serving(_options(section, name), waivers, root, base_url)
        elif name not in DJANGO_CHECKS:
            results[name] = _run_one(name, _options(section, name), waivers, root, database_url, environ, secret_names)
    return {name: results[name] for name in chosen}


def _run_serving(options: dict[str, Any], waivers: dict[str, str], root: Path, base_url: str | None) -> ReadinessResult:
    from pytest_prodgate.readiness.serving import check_serving

    return check_serving(
        options.get("url") or base_url or "",
        timeout=_seconds(options, 5.0),
        unknown=options.get("unknown", "error"),
        cores=options.get("cores"),
        max_timeout=parse_duration(options["max_timeout"]) if "max_timeout" in options else 120.0,
        command=options.get("command"),
        config_file=_path(root, options.get("config")),
        waivers=waivers,
    )


def _run_one(
    name: str,
    options: dict[str, Any],
    waivers: dict[str, str],
    root: Path,
    database_url: str | None,
    environ: Mapping[str, str] | None,
    secret_names: Iterable[str],
) -> ReadinessResult:
    thresholds = options.get("thresholds")
    if isinstance(thresholds, str):
        thresholds = [thresholds]
    if name == "env":
        from pytest_prodgate.readiness.env import check_env

        return check_env(
            options.get("required") or {},
            environ=environ,
            min_secret_length=options.get("min_secret_length", 32),
            min_secret_classes=options.get("min_secret_classes", 3),
            placeholders=options.get("placeholders", ()),
            thresholds=thresholds or (),
            waivers=waivers,
            secret_names=secret_names,
        )
    if name == "system":
        from pytest_prodgate.readiness.system import DEFAULT_THRESHOLDS, check_system

        interval = parse_duration(options["cpu_interval"]) if "cpu_interval" in options else 0.2
        return check_system(
            thresholds=thresholds or DEFAULT_THRESHOLDS,
            path=options.get("path", "/"),
            cpu_interval=interval,
            waivers=waivers,
        )
    if name == "database":
        from pytest_prodgate.readiness.databases import check_database

        urls = dict(options.get("urls") or {}) or {"database": options.get("url") or database_url or ""}
        parts = [
            check_database(
                url, timeout=_seconds(options, 5.0), thresholds=thresholds or (), waivers=waivers, name=label
            )
            for label, url in urls.items()
        ]
        return parts[0] if len(parts) == 1 else _combine("database", parts)
    if name == "alembic":
        from pytest_prodgate.readiness.databases import check_alembic

        return check_alembic(
            options.get("url") or database_url or "",
            config_file=_path(root, options.get("config")),
            script_location=_path(root, options.get("script_location")),
            timeout=_seconds(options, 5.0),
            waivers=waivers,
        )
    if name == "redis":
        from pytest_prodgate.readiness.cache import DEFAULT_THRESHOLDS as REDIS_THRESHOLDS
        from pytest_prodgate.readiness.cache import check_redis

        return check_redis(
            options.get("url", "redis://127.0.0.1:6379/0"),
            timeout=_seconds(options, 2.0),
            pings=options.get("pings", 3),
            thresholds=thresholds or REDIS_THRESHOLDS,
            waivers=waivers,
        )
    if name == "audit":
        from pytest_prodgate.readiness.code import check_audit

        return check_audit(
            requirements=_path(root, options.get("requirements")),
            timeout=_seconds(options, 60.0),
            service=options.get("service", "pypi"),
            allow_skipped=options.get("allow_skipped", False),
            cache_dir=_path(root, options.get("cache_dir")),
            waivers=waivers,
            env=dict(environ) if environ is not None else None,
        )
    if name == "lint":
        from pytest_prodgate.readiness.code import check_lint

        return check_lint(
            options.get("paths", ["."]),
            cwd=str(root),
            config=_path(root, options.get("config")),
            timeout=_seconds(options, 120.0),
            waivers=waivers,
        )
    if name == "coverage":
        from pytest_prodgate.readiness.code import check_coverage

        return check_coverage(
            _path(root, options.get("data_file", ".coverage")) or ".coverage",
            thresholds=thresholds or ("coverage >= 85%",),
            include=options.get("include"),
            omit=options.get("omit"),
            waivers=waivers,
        )
    raise ConfigError(f"{SECTION[:-1]}] checks: unknown check {name!r}; known: {', '.join(CHECK_NAMES)}")


def _combine(name: str, parts: list[ReadinessResult]) -> ReadinessResult:
    """One result for several databases: every finding, every figure scoped by the database's label."""
    findings: list[Finding] = []
    figures: dict[str, float] = {}
    for part in parts:
        findings += part.findings
        figures.update({f"{part.check}.{k}": v for k, v in part.figures.items() if k != "problems"})
    summary = "; ".join(p.summary for p in parts if p.summary)
    return build_result(name, findings, figures, summary=summary)
