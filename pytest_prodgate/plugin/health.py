"""pytest glue of the ``health`` family: its fixtures and the collector of declarative gates.

pytest fixtures of the ``health`` family: ``probe``, ``async_probe``, ``tls``, ``security_headers``.

Thin glue: each fixture builds a core object (``probes.py``, ``tls.py``, ``headers.py``) bound to the
run's base URL and ``[tool.prodgate.health]`` settings, and records its figures (``latency``,
``status``, ``attempts``, ``days_left``, ``violations``) into the current ``gate``.


Collector of declarative health gates: ``[tool.prodgate.health]`` entries become ``health`` items.

Each endpoint, TLS target and audited header path is a test item with a readable id
(``health::ready[GET /health/ready]``), marked ``health`` so ``-m health`` selects it. A
``HealthGates`` collector holds them; it is a child of the directory named by ``collect_in``
(relative to the pyproject.toml; default: its own directory), so pytest collects the gates
exactly when it collects that directory: ``pytest gates`` does, ``pytest tests/`` does not.
A mistake in the table is a ``pytest.UsageError`` naming the entry (exit code 4).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.plugin.stash import CONFIG, gate_entries, settings
from pytest_prodgate.redact import redactor

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.context import Prodgate
    from pytest_prodgate.gate import Gate
    from pytest_prodgate.health.declarative import HealthGate
    from pytest_prodgate.health.headers import AuditOptions, HeaderAudit
    from pytest_prodgate.health.probes import AsyncProbe, Probe
    from pytest_prodgate.health.results import ProbeResult
    from pytest_prodgate.health.tls import CertificateReport

__all__ = ["HealthGates", "HealthItem", "declarative_gates"]


def _recorder(gate: Gate) -> Callable[[ProbeResult, str | None], None]:
    def record(result: ProbeResult, name: str | None) -> None:
        gate.record_many(result.figures, prefix=name)
        gate.details.setdefault("probes", []).append(result.to_dict())

    return record


def _ca_bundle(section: Mapping[str, Any]) -> str | None:
    """``ca_bundle`` of ``[tool.prodgate.health]``, ``${NAME}`` read from the environment (a bundle known at run time)."""
    from pytest_prodgate.health.declarative import expand_env

    bundle = section.get("ca_bundle")
    return expand_env(bundle, where="[tool.prodgate.health] ca_bundle") if bundle else None


def _probe_options(prodgate: Prodgate, gate: Gate) -> dict[str, Any]:
    from pytest_prodgate.health.declarative import expand_headers
    from pytest_prodgate.health.probes import RetryPolicy

    section = prodgate.section("health")
    return {
        "policy": RetryPolicy.from_settings(section),
        "headers": expand_headers(section.get("headers", {}), where="[tool.prodgate.health]"),
        "verify": _ca_bundle(section) or section.get("verify", True),
        "redactor": redactor(prodgate.settings.get("secrets", [])),
        "on_result": _recorder(gate),
    }


@pytest.fixture
def probe(prodgate: Prodgate, gate: Gate) -> Probe:
    """HTTP probes with retries bound to the base URL; records ``latency``, ``status``, ``attempts`` into the gate."""
    from pytest_prodgate.health.probes import Probe

    return Probe(prodgate.base_url, **_probe_options(prodgate, gate))


@pytest.fixture
def async_probe(prodgate: Prodgate, gate: Gate) -> AsyncProbe:
    """The asyncio twin of ``probe`` (``await async_probe.get(...)`` in a pytest-asyncio test)."""
    from pytest_prodgate.health.probes import AsyncProbe

    return AsyncProbe(prodgate.base_url, **_probe_options(prodgate, gate))


class TlsChecker:
    """``tls.check(host, port)``: the certificate gate, recording ``days_left`` into the gate."""

    def __init__(self, gate: Gate, base_url: str | None, section: Mapping[str, Any]) -> None:
        self.gate = gate
        self.base_url = base_url
        self.ca_bundle = _ca_bundle(section)

    def certificate(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        server_name: str | None = None,
        ca_bundle: str | None = None,
        thresholds: Sequence[str] | None = None,
        min_protocol: str = "TLSv1.2",
        timeout: str | float = "10s",
        name: str | None = None,
    ) -> CertificateReport:
        """Inspect the certificate (default: the base URL's host) and record ``days_left``; never raises on findings.

        ``thresholds`` defaults to ``health.tls.DEFAULT_TLS_THRESHOLDS``.
        """
        from pytest_prodgate.health.tls import DEFAULT_TLS_THRESHOLDS, check_certificate
        from pytest_prodgate.thresholds import parse_duration

        if host is None:
            parts = urlsplit(self.base_url or "")
            if parts.scheme != "https" or not parts.hostname:
                raise ConfigError(f"tls: the base URL {self.base_url!r} is not https; give the host to check")
            host, port = parts.hostname, port or parts.port
        report = check_certificate(
            host,
            port or 443,
            server_name=server_name,
            ca_bundle=ca_bundle or self.ca_bundle,
            timeout=parse_duration(timeout),
            thresholds=DEFAULT_TLS_THRESHOLDS if thresholds is None else thresholds,
            min_protocol=min_protocol,
        )
        self.gate.record_many(report.figures, prefix=name)
        self.gate.details.setdefault("tls", []).append(report.to_dict())
        return report

    def check(self, host: str | None = None, port: int | None = None, **options: Any) -> CertificateReport:
        """``certificate(...)`` then fail naming expiry, hostname, chain and protocol problems."""
        __tracebackhide__ = True
        return self.certificate(host, port, **options).check()


@pytest.fixture
def tls(prodgate: Prodgate, gate: Gate) -> TlsChecker:
    """The TLS certificate gate: ``tls.check("shop.example", 443)`` records ``days_left``."""
    return TlsChecker(gate, prodgate.base_url, prodgate.section("health"))


class SecurityHeaders:
    """``security_headers.check("/")``: the header audit of one response, with configured waivers."""

    def __init__(self, probe: Probe, gate: Gate, options: AuditOptions) -> None:
        from pytest_prodgate.health.probes import Probe

        # Its own probe, so the gate's figures are the audit's (violations), not the fetch's latency.
        self.probe = Probe(
            probe.base_url, policy=probe.policy, headers=probe.headers, verify=probe.verify, redactor=probe.redactor
        )
        self.gate = gate
        self.options = options

    def audit(
        self,
        path: str = "/",
        *,
        waivers: Mapping[str, str] | None = None,
        options: AuditOptions | None = None,
        name: str | None = None,
    ) -> HeaderAudit:
        """Fetch ``path`` and audit its headers; records ``violations`` and ``waived_count``."""
        from pytest_prodgate.health.headers import audit_headers

        chosen = options or self.options
        if waivers:
            chosen = replace(chosen, waivers={**chosen.waivers, **waivers})
        result = self.probe.get(path, name=name)
        assert result.response is not None  # the probe raises when nothing answered
        audit = audit_headers(result.response.headers, url=self.probe.redactor(result.url), options=chosen)
        self.gate.record_many(audit.figures, prefix=name)
        self.gate.details.setdefault("security_headers", []).append({**audit.to_dict(), "fetch": result.to_dict()})
        for finding in audit.waived:
            self.gate.details.setdefault("waivers", []).append(
                {"item": finding.item, "reason": finding.waiver, "url": audit.url, "finding": finding.message}
            )
        return audit

    def check(self, path: str = "/", **options: Any) -> HeaderAudit:
        """``audit(...)`` then fail naming each missing or weak header."""
        __tracebackhide__ = True
        return self.audit(path, **options).check()


@pytest.fixture
def security_headers(probe: Probe, gate: Gate, prodgate: Prodgate) -> SecurityHeaders:
    """The security-header gate, with ``[tool.prodgate.health.security_headers]`` options and waivers."""
    from pytest_prodgate.health.headers import AuditOptions

    try:
        options = AuditOptions.from_settings(prodgate.section("health").get("security_headers", {}))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    return SecurityHeaders(probe, gate, options)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Show every waiver applied in the run, with its reason, so none passes silently."""
    lines = []
    for entry in gate_entries(config):
        for waiver in entry.details.get("waivers", []):
            lines.append(f"{entry.nodeid}: {waiver['item']} waived ({waiver['reason']})")
    if lines:
        terminalreporter.write_sep("-", "health waivers")
        for line in lines:
            terminalreporter.write_line(line)


_gates_key = pytest.StashKey[list["HealthGate"]]()


_directory_key = pytest.StashKey["Path | None"]()


# The keys of [tool.prodgate.health] that declare gates (or waivers to check); without them there is nothing to load.
_DECLARING_KEYS = ("endpoints", "tls", "security_headers")


class HealthItem(pytest.Function):
    """A declarative gate: reported as ``health::ready[GET /health/ready]`` from pyproject.toml."""

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return (settings(self.config).path or self.path), None, self.nodeid


class HealthGates(pytest.Collector):
    """The declarative health gates of ``[tool.prodgate.health]``, one ``HealthItem`` each."""

    def collect(self) -> Iterator[HealthItem]:
        from pytest_prodgate.health.declarative import thresholds_of

        try:
            gates = declarative_gates(self.config)
        except pytest.UsageError as exc:
            # Checked at session start in the usual case; here only when pytest collects more than it was told.
            raise self.CollectError(str(exc)) from None
        for gate in gates:
            marker = pytest.mark.health(thresholds=list(thresholds_of(gate)), severity=gate.severity)
            yield HealthItem.from_parent(self, name=gate.id, callobj=marker(_test_function(gate)))


def declarative_gates(config: pytest.Config) -> list[HealthGate]:
    """The run's declarative gates, checked once; a mistake is a one-line usage error."""
    if _gates_key not in config.stash:
        from pytest_prodgate.health.declarative import load_gates

        current = settings(config)
        try:
            config.stash[_gates_key] = load_gates(current.section("health"))
        except ConfigError as exc:
            raise pytest.UsageError(str(exc.located(str(current.path)) if current.path else exc)) from None
    return config.stash[_gates_key]


def _declares_gates(section: Mapping[str, Any]) -> bool:
    return any(section.get(key) for key in _DECLARING_KEYS)


def _collect_in(config: pytest.Config) -> Path | None:
    """The directory whose collection brings the declarative gates (None: no pyproject.toml or no gate)."""
    if _directory_key not in config.stash:
        current = config.stash.get(CONFIG, None)
        directory = None
        if current is not None and current.path is not None:
            section = current.section("health")
            if _declares_gates(section):
                directory = (current.path.parent / section.get("collect_in", ".")).resolve()
        config.stash[_directory_key] = directory
    return config.stash[_directory_key]


def _covers(config: pytest.Config, directory: Path) -> bool:
    """Whether a path named on the command line is ``directory`` or one of its parents."""
    base = config.invocation_params.dir
    for arg in config.args:
        path = (base / arg.split("::", 1)[0]).resolve()
        if path == directory or path in directory.parents:
            return True
    return False


def pytest_sessionstart(session: pytest.Session) -> None:
    # Check the table up front, on the controller (xdist workers collect but the controller does not),
    # when this run will collect the gates: a mistake is then a usage error before anything runs.
    config = session.config
    directory = None if hasattr(config, "workerinput") else _collect_in(config)
    if directory is not None and _covers(config, directory):
        declarative_gates(config)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Add the ``HealthGates`` collector to the children of the ``collect_in`` directory."""
    report = yield
    if isinstance(collector, pytest.Directory) and report.passed:
        directory = _collect_in(collector.config)
        if directory is not None and collector.path.resolve() == directory:
            report.result.append(HealthGates.from_parent(collector, name="health", nodeid="health"))
    return report


def _test_function(gate: HealthGate) -> Callable[..., None]:
    from pytest_prodgate.health.declarative import EndpointGate, HeadersGate, TlsGate, run_endpoint

    if isinstance(gate, EndpointGate):

        def health_endpoint(probe: Any) -> None:
            __tracebackhide__ = True
            run_endpoint(gate, probe)

        return health_endpoint
    if isinstance(gate, TlsGate):

        def health_tls(tls: Any) -> None:
            __tracebackhide__ = True
            tls.check(
                gate.host,
                gate.port,
                server_name=gate.server_name,
                ca_bundle=gate.ca_bundle,
                thresholds=gate.thresholds,
                min_protocol=gate.min_protocol,
                timeout=gate.timeout,
            )

        return health_tls
    assert isinstance(gate, HeadersGate)

    def health_headers(security_headers: Any) -> None:
        __tracebackhide__ = True
        security_headers.check(gate.path, options=gate.options)

    return health_headers
