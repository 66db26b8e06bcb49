"""``[tool.prodgate.watch]`` and ``[tool.prodgate.alerts]``: the schedule, the state rules and the channels.

``SCHEMA`` and ``ALERTS_SCHEMA`` declare the sections for ``pytest_prodgate.config``;
``WatchSettings.from_sections`` turns the merged sections (plus command-line overrides) into the
settings a watcher runs with. ``[tool.prodgate.alerts]`` is shared with ``prodgate deploy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_prodgate.config import DURATION, ListOf, OneOf, TableOf, validate
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.thresholds import parse_duration

__all__ = ["ALERTS_SCHEMA", "SCHEMA", "SEVERITIES", "AlertSettings", "Channel", "WatchSettings", "channel_name"]

SEVERITIES = ("info", "warning", "critical")

SCHEMA: dict[str, Any] = {
    "marker": str,  # the -m expression of the watched gates
    "pytest_args": ListOf(str),  # extra pytest arguments (e.g. the gates folder)
    "every": DURATION,
    "cycle_timeout": DURATION,
    "jitter": DURATION,
    "failures_before_alert": int,
    "successes_before_resolve": int,
    "state_dir": str,
    "history_max_bytes": int,
    "history_keep": int,
    "metrics_host": str,
    "metrics_port": int,
}

WEBHOOK_SCHEMA: dict[str, Any] = {
    "url": str,
    "format": OneOf("json", "slack"),
    "timeout": DURATION,
    "headers": TableOf(str),
    "severities": ListOf(OneOf(*SEVERITIES)),
}

APPRISE_SCHEMA: dict[str, Any] = {
    "url": str,
    "timeout": DURATION,
    "severities": ListOf(OneOf(*SEVERITIES)),
}

ALERTS_SCHEMA: dict[str, Any] = {
    "webhooks": ListOf(WEBHOOK_SCHEMA),
    "apprise": ListOf(APPRISE_SCHEMA),
    "retries": int,  # further attempts after a failed send
    "backoff": DURATION,  # the wait before the first retry; doubled for each next one
    "cooldown": DURATION,  # a gate that went down within this of its last down alert is not alerted again
    "reminder": DURATION,  # repeat the alert while a gate stays down; 0s never
}


@dataclass(frozen=True)
class Channel:
    """Where alerts go: a JSON webhook (``kind`` "webhook") or an Apprise URL (``kind`` "apprise")."""

    kind: str
    url: str
    format: str = "json"
    timeout: float = 10.0
    headers: Mapping[str, str] = field(default_factory=dict)
    severities: tuple[str, ...] = SEVERITIES

    @property
    def name(self) -> str:
        return channel_name(self.url)

    @property
    def key(self) -> str:
        """A stable name of this channel for the state file, without its URL (which may hold secrets)."""
        import hashlib

        return hashlib.sha256(f"{self.kind} {self.url}".encode()).hexdigest()[:16]

    def wants(self, severity: str) -> bool:
        return severity in self.severities


def channel_name(url: str) -> str:
    """What may be shown of a channel's URL: its scheme and host (tokens and passwords stay out)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable URL>"
    return f"{parts.scheme}://{host}{port}/..."


@dataclass(frozen=True)
class AlertSettings:
    """The channels and the alerting rules of ``[tool.prodgate.alerts]``."""

    channels: tuple[Channel, ...] = ()
    retries: int = 2
    backoff: float = 1.0
    cooldown: float = 300.0
    reminder: float = 3600.0

    @classmethod
    def from_section(cls, section: Mapping[str, Any], *, where: str = "[tool.prodgate.alerts]") -> AlertSettings:
        validate(dict(section), ALERTS_SCHEMA, where)
        channels: list[Channel] = []
        for index, hook in enumerate(section.get("webhooks", [])):
            url = hook.get("url", "")
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"{where} webhooks[{index}].url must be an http(s) URL, got {url[:40]!r}")
            channels.append(
                Channel(
                    "webhook",
                    url,
                    format=hook.get("format", "json"),
                    timeout=parse_duration(hook.get("timeout", "10s")),
                    headers=dict(hook.get("headers", {})),
                    severities=tuple(hook.get("severities", SEVERITIES)),
                )
            )
        for index, entry in enumerate(section.get("apprise", [])):
            url = entry.get("url", "")
            if "://" not in url:
                raise ConfigError(
                    f"{where} apprise[{index}].url must be an Apprise URL such as mailto://... or slack://..., "
                    f"got {url[:12]!r}..."
                )
            channels.append(
                Channel(
                    "apprise",
                    url,
                    format="apprise",
                    timeout=parse_duration(entry.get("timeout", "10s")),
                    severities=tuple(entry.get("severities", SEVERITIES)),
                )
            )
        retries = section.get("retries", 2)
        if retries < 0:
            raise ConfigError(f"{where} retries must be 0 or more, got {retries}")
        return cls(
            channels=tuple(channels),
            retries=retries,
            backoff=parse_duration(section.get("backoff", "1s")),
            cooldown=parse_duration(section.get("cooldown", "5m")),
            reminder=parse_duration(section.get("reminder", "1h")),
        )


@dataclass(frozen=True)
class WatchSettings:
    """Everything a watcher needs, with paths resolved against the project root."""

    root: Path
    environment: str | None = None
    marker: str = "health or readiness"
    pytest_args: tuple[str, ...] = ()
    every: float = 60.0
    cycle_timeout: float = 300.0
    jitter: float = 0.0
    failures_before_alert: int = 3
    successes_before_resolve: int = 2
    state_dir: Path = Path(".prodgate/watch")
    history_max_bytes: int = 10 * 1024 * 1024
    history_keep: int = 5
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    alerts: AlertSettings = field(default_factory=AlertSettings)

    @classmethod
    def from_sections(
        cls,
        watch: Mapping[str, Any],
        alerts: Mapping[str, Any],
        *,
        root: Path,
        environment: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        where: str = "[tool.prodgate.watch]",
        alerts_where: str = "[tool.prodgate.alerts]",
    ) -> WatchSettings:
        """Validate both sections, apply the non-None ``overrides`` (from flags) and resolve paths."""
        validate(dict(watch), SCHEMA, where)
        values = dict(watch)
        for key, value in (overrides or {}).items():
            if value is not None:
                values[key] = value
        kwargs: dict[str, Any] = {"root": root.resolve(), "environment": environment}
        for key in ("every", "cycle_timeout", "jitter"):
            if key in values:
                kwargs[key] = parse_duration(values[key]) if isinstance(values[key], str) else float(values[key])
        for key in ("marker", "metrics_host"):
            if key in values:
                kwargs[key] = values[key]
        if "pytest_args" in values:
            kwargs["pytest_args"] = tuple(values["pytest_args"])
        for key in ("failures_before_alert", "successes_before_resolve", "history_keep", "history_max_bytes"):
            if key in values:
                if values[key] < 1:
                    raise ConfigError(f"{where} {key} must be at least 1, got {values[key]}")
                kwargs[key] = values[key]
        if values.get("metrics_port") is not None:
            if not 0 <= values["metrics_port"] <= 65535:
                raise ConfigError(f"{where} metrics_port must be 0..65535, got {values['metrics_port']}")
            kwargs["metrics_port"] = values["metrics_port"]
        if kwargs.get("every", 60.0) <= 0:
            raise ConfigError(f"{where} every must be above 0s, got {values['every']!r}")
        if kwargs.get("cycle_timeout", 300.0) <= 0:
            raise ConfigError(f"{where} cycle_timeout must be above 0s, got {values['cycle_timeout']!r}")
        state_dir = Path(values.get("state_dir", ".prodgate/watch"))
        kwargs["state_dir"] = state_dir if state_dir.is_absolute() else kwargs["root"] / state_dir
        kwargs["alerts"] = AlertSettings.from_section(alerts, where=alerts_where)
        return cls(**kwargs)

    @property
    def state_path(self) -> Path:
        return self.state_dir / "state.sqlite"

    @property
    def history_path(self) -> Path:
        return self.state_dir / "history.jsonl"
