"""The ``[tool.prodgate.readiness]`` section: which checks are on, their options, waivers.

Example::

    [tool.prodgate.readiness]
    checks = ["env", "system", "database", "django"]      # "django" means every django-* check

    [tool.prodgate.readiness.waivers]
    "security.W008" = "TLS ends at the load balancer, which redirects HTTP to HTTPS"

    [tool.prodgate.readiness.env.required]
    DATABASE_URL = "dsn"
    SECRET_KEY = "secret"
    LOG_LEVEL = ["info", "warning"]

    [tool.prodgate.environments.production.readiness.env.required]
    SENTRY_DSN = "dsn"                                      # only production asks for it
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_prodgate.config import ANY, DURATION, THRESHOLDS, ListOf, OneOf, TableOf
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.readiness.django_checks import DJANGO_CHECKS

__all__ = ["CHECK_NAMES", "SCHEMA", "enabled_checks", "waivers_of"]

SECTION = "[tool.prodgate.readiness]"
CHECK_NAMES = ("env", "system", "database", "alembic", "redis", "audit", "lint", "coverage", "serving", *DJANGO_CHECKS)

SCHEMA: dict[str, Any] = {
    "checks": ListOf(OneOf(*CHECK_NAMES, "django")),
    "waivers": TableOf(str),
    "env": {
        "required": TableOf(ANY),
        "min_secret_length": int,
        "min_secret_classes": int,
        "placeholders": ListOf(str),
        "thresholds": THRESHOLDS,
    },
    "system": {"thresholds": THRESHOLDS, "path": str, "cpu_interval": DURATION},
    "database": {"url": str, "urls": TableOf(str), "timeout": DURATION, "thresholds": THRESHOLDS},
    "alembic": {"url": str, "config": str, "script_location": str, "timeout": DURATION},
    "redis": {"url": str, "timeout": DURATION, "pings": int, "thresholds": THRESHOLDS},
    "audit": {
        "requirements": str,
        "timeout": DURATION,
        "service": OneOf("pypi", "osv"),
        "allow_skipped": bool,
        "cache_dir": str,
    },
    "lint": {"paths": ListOf(str), "config": str, "timeout": DURATION},
    "coverage": {"data_file": str, "thresholds": THRESHOLDS, "include": ListOf(str), "omit": ListOf(str)},
    "serving": {
        "url": str,
        "timeout": DURATION,
        "unknown": OneOf("error", "pass"),
        "cores": int,
        "max_timeout": DURATION,
        "command": str,
        "config": str,
    },
    "django": {
        "settings": str,
        "project_dir": str,
        "python": str,
        "hsts_min_seconds": int,
        "behind_proxy": bool,
        "database": str,
        "require_error_reporting": bool,
        "error_reporting": ListOf(str),
        "timeout": DURATION,
    },
}


def enabled_checks(section: Mapping[str, Any]) -> list[str]:
    """The checks switched on, in the order written, ``django`` expanded to every django-* check."""
    names: list[str] = []
    for name in section.get("checks", []) or []:
        for expanded in DJANGO_CHECKS if name == "django" else (name,):
            if expanded not in names:
                names.append(expanded)
    return names


def waivers_of(section: Mapping[str, Any]) -> dict[str, str]:
    """Waived finding ids with their reasons; a waiver without a reason is a configuration mistake."""
    waivers = dict(section.get("waivers", {}) or {})
    for finding_id, reason in waivers.items():
        if not isinstance(reason, str) or len(reason.strip()) < 3:
            raise ConfigError(
                f"{SECTION[:-1]}.waivers] {finding_id!r}: a waiver needs a reason, e.g. "
                f'"{finding_id}" = "TLS ends at the load balancer"'
            )
    return waivers
