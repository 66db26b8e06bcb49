"""``[tool.prodgate.deploy]``: the steps of a deployment, their timeouts, and where things are kept.

``SCHEMA`` declares the section for ``pytest_prodgate.config``; ``DeploySettings.from_section`` turns
the merged section (plus command-line overrides) into the settings the pipeline runs with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pytest_prodgate.config import DURATION, ListOf, OneOf, TableOf, validate
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.thresholds import parse_duration

__all__ = ["SCHEMA", "STEPS", "DeploySettings", "Email", "Webhook"]

STEPS = ("gates", "backup", "run", "verify", "rollback", "health")

WEBHOOK_SCHEMA: dict[str, Any] = {
    "url": str,
    "format": OneOf("json", "slack"),
    "timeout": DURATION,
    "headers": TableOf(str),
}

EMAIL_SCHEMA: dict[str, Any] = {
    "host": str,
    "port": int,
    "sender": str,
    "to": ListOf(str),
    "timeout": DURATION,
    "starttls": bool,
    "user": str,
    "password_env": str,  # name of the environment variable holding the SMTP password
}

SCHEMA: dict[str, Any] = {
    "gates": str,  # marker expression of the pre-deploy gates; "" skips them
    "verify": str,  # marker expression of the post-deploy verification; "" runs only the health wait
    "pytest_args": ListOf(str),  # extra pytest arguments for gates and verify (e.g. the gates folder)
    "backup": ListOf(str),  # shell commands, run with PRODGATE_BACKUP_DIR set
    "sqlite_backup": ListOf(str),  # SQLite database files copied with the online backup API
    "run": str,  # the deploy command
    "rollback": ListOf(str),  # shell commands, run with PRODGATE_BACKUP_DIR set
    "rollback_policy": OneOf("automatic", "manual"),
    "rollback_on_interrupt": bool,
    "health_url": str,  # polled until it answers 2xx before verification
    "health_interval": DURATION,
    "target": str,  # what the lock protects; default from health_url, else the environment
    "timeouts": {step: DURATION for step in STEPS},
    "backups_dir": str,
    "keep": int,
    "records_dir": str,
    "lock_dir": str,
    "webhooks": ListOf(WEBHOOK_SCHEMA),
    "email": EMAIL_SCHEMA,
    "tail_lines": int,
}

DEFAULT_TIMEOUTS = {"gates": 600.0, "backup": 600.0, "run": 900.0, "verify": 600.0, "rollback": 900.0, "health": 120.0}


@dataclass(frozen=True)
class Webhook:
    """Where a deployment's outcome goes: a webhook (``json``, ``slack``) or an Apprise URL (``apprise``).

    Those of ``[tool.prodgate.alerts]`` come with the severities they subscribe to (a deployment's
    outcome is *info* when it deployed, *critical* otherwise); those of the deploy section hear everything.
    """

    url: str
    format: str = "json"
    timeout: float = 10.0
    headers: Mapping[str, str] = field(default_factory=dict)
    severities: tuple[str, ...] = ("info", "warning", "critical")


@dataclass(frozen=True)
class Email:
    """An SMTP server and the people told about each deployment's outcome."""

    host: str
    to: tuple[str, ...]
    port: int = 25
    sender: str = "prodgate@localhost"
    timeout: float = 10.0
    starttls: bool = False
    user: str | None = None
    password_env: str | None = None


@dataclass(frozen=True)
class DeploySettings:
    """Everything a deployment needs, with paths resolved against the project root."""

    root: Path
    environment: str | None = None
    gates: str = "readiness or data"
    verify: str = "health"
    pytest_args: tuple[str, ...] = ()
    backup: tuple[str, ...] = ()
    sqlite_backup: tuple[str, ...] = ()
    run: str = ""
    rollback: tuple[str, ...] = ()
    rollback_policy: str = "automatic"
    rollback_on_interrupt: bool = True
    health_url: str | None = None
    health_interval: float = 0.5
    target: str = "default"
    timeouts: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    backups_dir: Path = Path(".prodgate/backups")
    keep: int = 5
    records_dir: Path = Path(".prodgate/deployments")
    lock_dir: Path = Path(".prodgate")
    webhooks: tuple[Webhook, ...] = ()
    email: Email | None = None
    tail_lines: int = 40
    dry_run: bool = False
    force: bool = False
    wait: float = 0.0
    quiet: bool = False

    @classmethod
    def from_section(
        cls,
        section: Mapping[str, Any],
        *,
        root: Path,
        environment: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        where: str = "[tool.prodgate.deploy]",
        alerts: Mapping[str, Any] | None = None,
        alerts_where: str = "[tool.prodgate.alerts]",
    ) -> DeploySettings:
        """Validate ``section``, apply the non-None ``overrides`` (from flags) and resolve paths.

        ``alerts`` is ``[tool.prodgate.alerts]``, shared with ``prodgate watch``: its channels are told too.
        """
        validate(dict(section), SCHEMA, where)
        values = {key: value for key, value in section.items()}
        for key, value in (overrides or {}).items():
            if value is not None:
                values[key] = value
        timeouts = dict(DEFAULT_TIMEOUTS)
        for step, text in (values.pop("timeouts", None) or {}).items():
            timeouts[step] = parse_duration(text)
        kwargs: dict[str, Any] = {"root": root.resolve(), "environment": environment, "timeouts": timeouts}
        for key in ("backup", "sqlite_backup", "rollback", "pytest_args"):
            if key in values:
                kwargs[key] = tuple(values.pop(key))
        if "health_interval" in values:
            kwargs["health_interval"] = parse_duration(values.pop("health_interval"))
        for key in ("backups_dir", "records_dir", "lock_dir"):
            if key in values:
                kwargs[key] = Path(values.pop(key))
        kwargs["webhooks"] = tuple(
            Webhook(
                url=hook.get("url", ""),
                format=hook.get("format", "json"),
                timeout=parse_duration(hook.get("timeout", "10s")),
                headers=dict(hook.get("headers", {})),
            )
            for hook in values.pop("webhooks", [])
        )
        if "email" in values:
            kwargs["email"] = _email(values.pop("email"), where)
        for index, hook in enumerate(kwargs["webhooks"]):
            if not hook.url.startswith(("http://", "https://")):  # also catches a missing url
                raise ConfigError(f"{where} webhooks[{index}].url must be an http(s) URL, got {hook.url[:40]!r}")
        kwargs["webhooks"] += alert_channels(alerts or {}, alerts_where)
        kwargs.update({key: value for key, value in values.items() if key in cls.__dataclass_fields__})
        if not kwargs.get("target"):
            kwargs["target"] = default_target(kwargs.get("health_url"), environment)
        if kwargs.get("keep", 5) < 1:
            raise ConfigError(f"{where} keep must be at least 1, got {kwargs['keep']}")
        settings = cls(**kwargs)
        return replace(
            settings,
            backups_dir=settings.resolve(settings.backups_dir),
            records_dir=settings.resolve(settings.records_dir),
            lock_dir=settings.resolve(settings.lock_dir),
            sqlite_backup=tuple(str(settings.resolve(Path(p))) for p in settings.sqlite_backup),
        )

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

    def timeout(self, step: str) -> float:
        return float(self.timeouts.get(step, DEFAULT_TIMEOUTS[step]))


def alert_channels(section: Mapping[str, Any], where: str) -> tuple[Webhook, ...]:
    """The channels of ``[tool.prodgate.alerts]`` as deployment notification targets."""
    if not section:
        return ()
    from pytest_prodgate.watch.config import AlertSettings

    settings = AlertSettings.from_section(section, where=where)
    return tuple(
        Webhook(url=c.url, format=c.format, timeout=c.timeout, headers=dict(c.headers), severities=c.severities)
        for c in settings.channels
    )


def _email(table: Mapping[str, Any], where: str) -> Email:
    for key in ("host", "to"):
        if not table.get(key):
            raise ConfigError(f"{where} email.{key} is required when [tool.prodgate.deploy.email] is set")
    return Email(
        host=table["host"],
        to=tuple(table["to"]),
        port=table.get("port", 25),
        sender=table.get("sender", "prodgate@localhost"),
        timeout=parse_duration(table.get("timeout", "10s")),
        starttls=table.get("starttls", False),
        user=table.get("user"),
        password_env=table.get("password_env"),
    )


def default_target(health_url: str | None, environment: str | None) -> str:
    """The lock's name when none is configured: the health URL's host:port, else the environment."""
    if health_url:
        parts = urlsplit(health_url)
        if parts.hostname:
            return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    return environment or "default"


def slug(text: str) -> str:
    """A file-name-safe form of a target name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "default"
