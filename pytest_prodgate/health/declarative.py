"""Declarative health gates: ``[tool.prodgate.health]`` endpoints, TLS targets and header audits as data.

Plain Python. ``load_gates(section)`` checks every entry (a mistake is a ``ConfigError`` naming
the entry: ``[tool.prodgate.health] endpoint 'ready': unknown key 'stauts' (did you mean
'status'?)``) and returns frozen gate descriptions; the pytest collector turns each into a
``health`` item, and ``run_endpoint`` is what such an item runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_prodgate.config import validate
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.health.config import ENDPOINT_SCHEMA, TLS_SCHEMA
from pytest_prodgate.health.headers import AuditOptions
from pytest_prodgate.health.jsonpath import parse_conditions
from pytest_prodgate.health.probes import Probe
from pytest_prodgate.health.results import ProbeResult
from pytest_prodgate.thresholds import parse_threshold

__all__ = ["EndpointGate", "HeadersGate", "TlsGate", "expand_env", "load_gates", "run_endpoint"]

SECTION = "[tool.prodgate.health]"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class EndpointGate:
    """One endpoint to probe: ``ready[GET /health/ready]``."""

    name: str
    method: str
    target: str
    status: tuple[int, ...] = (200,)
    json: tuple[str, ...] = ()
    contains: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    expect_headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    thresholds: tuple[str, ...] = ()
    retries: int | None = None
    timeout: str | float | None = None
    deadline: str | float | None = None
    severity: str = "blocking"

    @property
    def id(self) -> str:
        return f"{self.name}[{self.method} {self.target}]"


@dataclass(frozen=True)
class TlsGate:
    """One TLS endpoint whose certificate is audited: ``shop[TLS shop.example:443]``."""

    name: str
    host: str | None
    port: int = 443
    server_name: str | None = None
    ca_bundle: str | None = None
    thresholds: tuple[str, ...] = ("days_left > 14",)
    min_protocol: str = "TLSv1.2"
    timeout: str | float = "10s"
    severity: str = "blocking"

    @property
    def id(self) -> str:
        return f"{self.name}[TLS {self.host or 'base_url'}:{self.port}]"


@dataclass(frozen=True)
class HeadersGate:
    """The security-header audit of one path: ``headers[GET /]``."""

    path: str
    options: AuditOptions
    severity: str = "blocking"

    @property
    def name(self) -> str:
        return "headers"

    @property
    def id(self) -> str:
        return f"headers[GET {self.path}]"


HealthGate = EndpointGate | TlsGate | HeadersGate


def expand_env(value: str, *, where: str, env: Mapping[str, str] | None = None) -> str:
    """Replace ``${NAME}`` by the environment variable's value; a missing one is a ``ConfigError``."""
    env = os.environ if env is None else env

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return env[name]

    return _VARIABLE.sub(substitute, value)


def expand_headers(headers: Mapping[str, str], *, where: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    return {name: expand_env(value, where=f"{where} headers.{name}", env=env) for name, value in headers.items()}


def _statuses(value: Any, where: str) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in items):
        raise ConfigError(f"{where}: status must be an HTTP status (100-599) or a list of them, got {value!r}")
    return tuple(items)


def _endpoint(index: int, entry: Mapping[str, Any]) -> EndpointGate:
    label = entry.get("name") if isinstance(entry.get("name"), str) else None
    where = f"{SECTION} endpoint {label!r}" if label else f"{SECTION} endpoints[{index}]"
    validate(dict(entry), ENDPOINT_SCHEMA, where)
    has_path, has_url = "path" in entry, "url" in entry
    if has_path == has_url:
        raise ConfigError(f"{where}: give exactly one of 'path' (under the base URL) or 'url'")
    target = str(entry["path"] if has_path else entry["url"])
    if has_path and not target.startswith("/"):
        raise ConfigError(f"{where}: path {target!r} must start with '/'")
    if has_url and not target.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: url {target!r} must start with http:// or https://")
    name = label or (target.rstrip("/").rsplit("/", 1)[-1] or "root")
    where = f"{SECTION} endpoint {name!r}"
    thresholds = list(entry.get("thresholds", []))
    if isinstance(entry.get("thresholds"), str):
        thresholds = [entry["thresholds"]]
    if "latency" in entry:
        latency = entry["latency"]
        thresholds.insert(0, f"latency < {latency}s" if isinstance(latency, (int, float)) else f"latency < {latency}")
    for text in thresholds:
        parse_threshold(text, where=where)
    parse_conditions(entry.get("json", []), where=where)
    retries = entry.get("retries")
    if retries is not None and not 0 <= retries <= 100:
        raise ConfigError(f"{where}: retries must be between 0 and 100, got {retries}")
    return EndpointGate(
        name=name,
        method=entry.get("method", "GET"),
        target=target,
        status=_statuses(entry.get("status", 200), where),
        json=tuple(entry.get("json", [])),
        contains=entry.get("contains"),
        headers=dict(entry.get("headers", {})),
        expect_headers=dict(entry.get("expect_headers", {})),
        body=entry.get("body"),
        thresholds=tuple(thresholds),
        retries=retries,
        timeout=entry.get("timeout"),
        deadline=entry.get("deadline"),
        severity=entry.get("severity", "blocking"),
    )


def _tls(index: int, entry: Mapping[str, Any]) -> TlsGate:
    label = entry.get("name") if isinstance(entry.get("name"), str) else None
    where = f"{SECTION} tls {label!r}" if label else f"{SECTION} tls[{index}]"
    validate(dict(entry), TLS_SCHEMA, where)
    port = entry.get("port", 443)
    if not 1 <= port <= 65535:
        raise ConfigError(f"{where}: port must be between 1 and 65535, got {port}")
    host = entry.get("host")
    thresholds = entry.get("thresholds", ["days_left > 14"])
    return TlsGate(
        name=label or host or "tls",
        host=host,
        port=port,
        server_name=entry.get("server_name"),
        ca_bundle=entry.get("ca_bundle"),
        thresholds=tuple([thresholds] if isinstance(thresholds, str) else thresholds),
        min_protocol=entry.get("min_protocol", "TLSv1.2"),
        timeout=entry.get("timeout", "10s"),
        severity=entry.get("severity", "blocking"),
    )


def load_gates(section: Mapping[str, Any]) -> list[HealthGate]:
    """Every declarative gate of ``[tool.prodgate.health]``, checked; names must be unique."""
    gates: list[HealthGate] = []
    for index, entry in enumerate(section.get("endpoints", []) or []):
        gates.append(_endpoint(index, entry))
    for index, entry in enumerate(section.get("tls", []) or []):
        gates.append(_tls(index, entry))
    audit = section.get("security_headers") or {}
    if audit.get("paths"):
        options = AuditOptions.from_settings(audit)
        for path in audit["paths"]:
            if not path.startswith("/"):
                raise ConfigError(f"{SECTION} security_headers.paths: {path!r} must start with '/'")
            gates.append(HeadersGate(path, options, audit.get("severity", "blocking")))
    else:
        AuditOptions.from_settings(audit)  # waivers are checked even when no path is audited here
    seen: dict[str, str] = {}
    for gate in gates:
        if gate.id in seen:
            raise ConfigError(f"{SECTION}: two gates are named {gate.id!r}; give each entry its own 'name'")
        seen[gate.id] = gate.id
    return gates


def run_endpoint(gate: EndpointGate, probe: Probe) -> ProbeResult:
    """Probe one declarative endpoint; raises ``ProbeFailed`` with the attempt history when it misses."""
    __tracebackhide__ = True
    where = f"{SECTION} endpoint {gate.name!r}"
    return probe.request(
        gate.method,
        expand_env(gate.target, where=where),
        status=gate.status,
        json=list(gate.json) or None,
        contains=gate.contains,
        expect_headers=gate.expect_headers or None,
        thresholds=list(gate.thresholds) or None,
        headers=expand_headers(gate.headers, where=where),
        body=gate.body,
        retries=gate.retries,
        timeout=gate.timeout,
        deadline=gate.deadline,
    )


def thresholds_of(gate: HealthGate) -> Sequence[str]:
    """The thresholds a gate's marker declares (so reports show them)."""
    if isinstance(gate, (EndpointGate, TlsGate)):
        return gate.thresholds
    return ("violations == 0",)
