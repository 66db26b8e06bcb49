"""The Django probe: a self-contained script run by the *target's* interpreter.

``django_checks.py`` reads this file's source and hands it to ``python -`` on stdin (the
``python`` option, e.g. the app's own venv), so the target's environment needs Django and the
project's own settings dependencies, but not pytest-prodgate. For that reason this module
imports only the standard library and Django, and runs on Python 3.8+ (annotations are never evaluated: ``from __future__ import annotations``). It sets Django up with
``DJANGO_SETTINGS_MODULE``, runs the requested parts and prints one JSON document on stdout::

    {"django": "5.2", "parts": {"deploy": {"findings": [{"id": "security.W004", "message": "..."}],
                                           "figures": {...}, "summary": "..."}}}

It never prints a setting's value: messages hold names and reasons (and Django's own texts), and
SECRET_KEY or a database password quoted by any message is masked before the document leaves.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

PARTS = ("settings", "deploy", "migrations", "static", "services", "logging")
MASK = "********"  # as pytest_prodgate.redact.MASK


def _finding(finding_id: str, message: str) -> dict[str, str]:
    return {"id": finding_id, "message": " ".join(message.split())}


def audit_settings(options: dict[str, Any]) -> dict[str, Any]:
    """Our own audit of the settings a production deploy needs (ids ``settings.NAME``)."""
    from django.conf import settings

    findings = []
    if settings.DEBUG:
        findings.append(_finding("settings.DEBUG", "DEBUG is True: tracebacks and settings are shown to visitors"))
    key = str(getattr(settings, "SECRET_KEY", "") or "")
    if not key:
        findings.append(_finding("settings.SECRET_KEY", "SECRET_KEY is empty"))
    elif key.startswith("django-insecure-"):
        findings.append(_finding("settings.SECRET_KEY", "SECRET_KEY is the generated 'django-insecure-' key"))
    elif len(key) < 50 or len(set(key)) < 5:
        findings.append(
            _finding(
                "settings.SECRET_KEY",
                f"SECRET_KEY is weak: {len(key)} characters, {len(set(key))} distinct (wanted at least 50 and 5)",
            )
        )
    hosts = list(settings.ALLOWED_HOSTS)
    if not hosts:
        findings.append(_finding("settings.ALLOWED_HOSTS", "ALLOWED_HOSTS is empty"))
    elif "*" in hosts:
        findings.append(_finding("settings.ALLOWED_HOSTS", "ALLOWED_HOSTS allows any host ('*')"))
    if not settings.SECURE_SSL_REDIRECT:
        findings.append(_finding("settings.SECURE_SSL_REDIRECT", "SECURE_SSL_REDIRECT is False: plain HTTP is served"))
    minimum = int(options.get("hsts_min_seconds", 31536000))
    hsts = int(settings.SECURE_HSTS_SECONDS or 0)
    if hsts < minimum:
        findings.append(
            _finding("settings.SECURE_HSTS_SECONDS", f"SECURE_HSTS_SECONDS is {hsts}, wanted at least {minimum}")
        )
    for name in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        if not getattr(settings, name):
            findings.append(_finding(f"settings.{name}", f"{name} is False: the cookie travels over plain HTTP"))
    if options.get("behind_proxy") and not settings.SECURE_PROXY_SSL_HEADER:
        findings.append(
            _finding(
                "settings.SECURE_PROXY_SSL_HEADER",
                "SECURE_PROXY_SSL_HEADER is not set though the site runs behind a TLS-terminating proxy "
                "(e.g. ('HTTP_X_FORWARDED_PROTO', 'https'))",
            )
        )
    return {"findings": findings, "figures": {"hsts_seconds": float(hsts)}, "summary": "production settings in place"}


def deploy_checks(options: dict[str, Any]) -> dict[str, Any]:
    """Django's own ``check --deploy``: every warning or error is a finding with its id."""
    from django.core.checks import WARNING, run_checks

    messages = [m for m in run_checks(include_deployment_checks=True) if m.level >= WARNING and not m.is_silenced()]
    findings = []
    for message in messages:
        where = f"{message.obj}: " if message.obj is not None and str(message.obj) != "?" else ""
        findings.append(_finding(message.id or "django.check", f"{where}{message.msg}"))
    return {
        "findings": findings,
        "figures": {"check_messages": float(len(findings))},
        "summary": "manage.py check --deploy reports nothing",
    }


def missing_migrations() -> list[dict[str, str]]:
    """Model changes without a migration file, as ``manage.py makemigrations --check --dry-run`` sees them.

    One finding per operation the autodetector would write (``shop: Add field price to product``),
    and one per app whose migrations conflict (two leaves).
    """
    from django.apps import apps
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
    from django.db.migrations.state import ProjectState

    loader = MigrationLoader(None, ignore_no_migrations=True)
    conflicts = loader.detect_conflicts()
    if conflicts:  # the autodetector needs one leaf per app; makemigrations stops here too
        return [
            _finding(
                "migrations.conflict",
                f"{app}: conflicting migrations {', '.join(sorted(names))} (run manage.py makemigrations --merge)",
            )
            for app, names in sorted(conflicts.items())
        ]
    questioner = NonInteractiveMigrationQuestioner(specified_apps=None, dry_run=True)
    autodetector = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps), questioner)
    changes = autodetector.changes(graph=loader.graph)
    findings = []
    for app, migrations in sorted(changes.items()):
        for migration in migrations:
            for operation in migration.operations:
                findings.append(
                    _finding(
                        "migrations.missing",
                        f"{app}: {operation.describe()} has no migration (run manage.py makemigrations {app})",
                    )
                )
    return findings


def migrations(options: dict[str, Any]) -> dict[str, Any]:
    """Model changes without a migration file, then migrations not applied to the database."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    missing = missing_migrations()
    alias = str(options.get("database", "default"))
    try:
        executor = MigrationExecutor(connections[alias])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # any driver error: the reason is the finding
        seen = f" ({len(missing)} model change(s) without a migration seen before that)" if missing else ""
        return {
            "error": f"cannot read the migration state of database {alias!r}: {_reason(exc)}{seen}",
            "fix": f"start the database or correct DATABASES[{alias!r}] (see django-services)",
        }
    pending = [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]
    findings = missing + [_finding("migrations.pending", f"{name} is not applied") for name in pending]
    apps = sorted({name.split(".")[0] for name in pending})
    notes = [f"database {alias!r} lacks migrations of {', '.join(apps)}: run manage.py migrate"] if pending else []
    return {
        "findings": findings,
        "figures": {
            "pending": float(len(pending)),
            "missing": float(sum(1 for f in missing if f["id"] == "migrations.missing")),
        },
        "notes": notes,
        "summary": f"no model change without a migration; every migration applied on database {alias!r}",
    }


def static_files(options: dict[str, Any]) -> dict[str, Any]:
    """STATIC_ROOT set, every file the finders know collected there, the manifest when one is used."""
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    root = settings.STATIC_ROOT
    if not root:
        return {
            "findings": [_finding("static.STATIC_ROOT", "STATIC_ROOT is not set: collectstatic has nowhere to go")],
            "figures": {},
        }
    root = str(root)
    if not os.path.isdir(root):
        return {
            "findings": [
                _finding("static.collect", f"STATIC_ROOT {root} does not exist (run manage.py collectstatic)")
            ],
            "figures": {"collected": 0.0},
        }
    expected: set[str] = set()
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            prefix = getattr(storage, "prefix", None)
            expected.add(os.path.join(prefix, path) if prefix else path)
    missing = sorted(p for p in expected if not os.path.exists(os.path.join(root, p)))
    findings = []
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        findings.append(
            _finding(
                "static.collect",
                f"{len(missing)} static file(s) not collected into STATIC_ROOT: {shown} (run manage.py collectstatic)",
            )
        )
    # staticfiles_storage is a lazy proxy; isinstance sees through it to the configured class.
    if isinstance(staticfiles_storage, ManifestFilesMixin):
        name = staticfiles_storage.manifest_name
        if not os.path.exists(os.path.join(root, name)):
            findings.append(
                _finding(
                    "static.manifest",
                    f"{name} is missing from STATIC_ROOT: "
                    "ManifestStaticFilesStorage will fail every {% static %} lookup",
                )
            )
    return {
        "findings": findings,
        "figures": {"static_files": float(len(expected)), "uncollected": float(len(missing))},
        "summary": f"{len(expected)} static file(s) collected",
    }


def services(options: dict[str, Any]) -> dict[str, Any]:
    """Every configured database answers ``SELECT 1`` and every cache stores and returns a value."""
    from django.core.cache import caches
    from django.db import connections

    findings = []
    figures: dict[str, float] = {}
    for alias in connections:
        started = time.perf_counter()
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception as exc:  # each backend raises its own error types
            findings.append(_finding(f"database.{alias}", f"database {alias!r} unreachable: {_reason(exc)}"))
            continue
        figures[f"database.{alias}.latency"] = time.perf_counter() - started
    for alias in caches:
        started = time.perf_counter()
        key = f"prodgate-readiness-{os.getpid()}"
        try:
            cache = caches[alias]
            cache.set(key, "ok", 30)
            value = cache.get(key)
            cache.delete(key)
        except Exception as exc:  # redis/memcached client errors, import errors of the backend
            findings.append(_finding(f"cache.{alias}", f"cache {alias!r} unreachable: {_reason(exc)}"))
            continue
        if value != "ok" and "DummyCache" not in type(cache).__name__:
            findings.append(_finding(f"cache.{alias}", f"cache {alias!r} did not return the value it was given"))
        figures[f"cache.{alias}.latency"] = time.perf_counter() - started
    count = len(list(connections)) + len(list(caches))
    return {"findings": findings, "figures": figures, "summary": f"{count} database(s) and cache(s) reachable"}


def logging_setup(options: dict[str, Any]) -> dict[str, Any]:
    """LOGGING configures at least one handler used by a logger; error reporting where asked for."""
    from django.conf import settings

    findings = []
    config = settings.LOGGING or {}
    handlers = dict(config.get("handlers") or {})
    used = set((config.get("root") or {}).get("handlers") or [])
    for logger in (config.get("loggers") or {}).values():
        used.update(logger.get("handlers") or [])
    if not handlers:
        findings.append(
            _finding(
                "logging.handlers",
                "LOGGING configures no handler: errors would only reach "
                "Django's defaults (console when DEBUG, mail to ADMINS)",
            )
        )
    elif not used & set(handlers):
        findings.append(_finding("logging.handlers", "LOGGING defines handlers but no logger (nor root) uses them"))
    names = list(options.get("error_reporting") or [])
    if options.get("require_error_reporting"):
        names = names or ["SENTRY_DSN"]
        present = [n for n in names if getattr(settings, n, None) or os.environ.get(n)]
        if not present and not _sentry_active():
            findings.append(
                _finding(
                    "logging.error_reporting",
                    f"no error reporting configured: none of "
                    f"{', '.join(names)} is set as a setting or environment variable",
                )
            )
    return {
        "findings": findings,
        "figures": {"log_handlers": float(len(handlers))},
        "summary": f"{len(handlers)} log handler(s) configured",
    }


def _sentry_active() -> bool:
    try:
        import sentry_sdk
    except ImportError:
        return False
    try:
        return bool(sentry_sdk.get_client().is_active())
    except AttributeError:  # sentry-sdk 1.x
        return sentry_sdk.Hub.current.client is not None


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


RUNNERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "settings": audit_settings,
    "deploy": deploy_checks,
    "migrations": migrations,
    "static": static_files,
    "services": services,
    "logging": logging_setup,
}


def bound_connect_timeouts(timeout: float) -> None:
    """Give PostgreSQL and MySQL connections a connect timeout where the settings give none.

    libpq ignores Python's socket timeout; without this an unreachable host could hang the probe.
    """
    from django.db import connections

    seconds = max(1, int(round(timeout)))
    for alias in connections:
        database = connections.settings[alias]
        engine = str(database.get("ENGINE", ""))
        if engine.endswith(("postgresql", "mysql")):
            database.setdefault("OPTIONS", {}).setdefault("connect_timeout", seconds)


def run(parts: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """Set Django up and run ``parts``; ``{"stage": ..., "error": ...}`` when Django cannot start."""
    where: dict[str, Any] = {"python": sys.executable, "python_version": platform.python_version()}
    try:
        import django
    except ImportError as exc:
        return {**where, "stage": "import", "error": f"{type(exc).__name__}: {_reason(exc)}"}
    where["django"] = django.get_version()
    timeout = float(options.get("timeout", 5.0))
    socket.setdefaulttimeout(timeout)  # pure-Python drivers (PyMySQL, redis-py) honour it
    try:
        django.setup()
        bound_connect_timeouts(timeout)
    except Exception as exc:  # an import error in the settings module, a missing app...
        return {
            **where,
            "stage": "setup",
            "error": f"Django could not start with {os.environ.get('DJANGO_SETTINGS_MODULE')}: "
            f"{type(exc).__name__}: {_reason(exc)}",
        }
    result: dict[str, Any] = {**where, "parts": {}}
    for part in parts:
        try:
            result["parts"][part] = RUNNERS[part](options)
        except Exception as exc:  # one broken part must not hide the others
            result["parts"][part] = {"error": f"it raised {type(exc).__name__}: {_reason(exc)}"}
    return result


def _redact(document: Any, values: list[str]) -> Any:
    """Mask ``values`` (SECRET_KEY, database passwords) wherever a message quotes them."""
    if isinstance(document, dict):
        return {key: _redact(value, values) for key, value in document.items()}
    if isinstance(document, list):
        return [_redact(value, values) for value in document]
    if isinstance(document, str):
        for value in values:
            document = document.replace(value, MASK)
    return document


def _secret_values() -> list[str]:
    try:
        from django.conf import settings

        values = [str(settings.SECRET_KEY or "")]
        values += [str(db.get("PASSWORD") or "") for db in settings.DATABASES.values()]
    except Exception:  # settings that never loaded hold nothing to hide
        return []
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="django_probe")
    parser.add_argument("--parts", default=",".join(PARTS), help="Comma-separated parts to run")
    parser.add_argument("--options", default="{}", help="JSON object of check options")
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = [p for p in parts if p not in RUNNERS]
    if unknown:
        print(json.dumps({"error": f"unknown part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}"}))
        return 2
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        print(json.dumps({"error": "DJANGO_SETTINGS_MODULE is not set"}))
        return 2
    sys.path.insert(0, os.getcwd())
    document = run(parts, json.loads(args.options))
    print(json.dumps(_redact(document, _secret_values())))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
