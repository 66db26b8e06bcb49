"""Collector of declarative health gates: ``[tool.prodgate.health]`` entries become ``health`` items.

Each endpoint, TLS target and audited header path is a test item with a readable id
(``health::ready[GET /health/ready]``), marked ``health`` so ``-m health`` selects it. A
``HealthGates`` collector holds them; it is a child of the directory named by ``collect_in``
(relative to the pyproject.toml; default: its own directory), so pytest collects the gates
exactly when it collects that directory: ``pytest gates`` does, ``pytest tests/`` does not.
A mistake in the table is a ``pytest.UsageError`` naming the entry (exit code 4).
"""

# The probe engine (health.declarative, which loads httpx) is imported only when gates are collected or run.

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.plugin.stash import CONFIG, settings

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.health.declarative import HealthGate

__all__ = ["HealthGates", "HealthItem", "declarative_gates"]

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
