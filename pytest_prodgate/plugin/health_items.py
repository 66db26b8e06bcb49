"""Collector of declarative health gates: ``[tool.prodgate.health]`` entries become ``health`` items.

Each endpoint, TLS target and audited header path is a test item with a readable id
(``health::ready[GET /health/ready]``), marked ``health`` so ``-m health`` selects it. They are
collected when the run covers the directory named by ``collect_in`` (relative to the
pyproject.toml; default: its own directory), so ``pytest tests/`` does not probe anything.
A mistake in the table is a ``pytest.UsageError`` naming the entry (exit code 4).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_prodgate.config import ProdgateConfig
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.health.declarative import (
    EndpointGate,
    HeadersGate,
    HealthGate,
    TlsGate,
    load_gates,
    run_endpoint,
    thresholds_of,
)
from pytest_prodgate.health.probes import Probe
from pytest_prodgate.plugin.stash import CONFIG

gates_key = pytest.StashKey[list[HealthGate]]()


class HealthItem(pytest.Function):
    """A declarative gate: reported as ``health::ready[GET /health/ready]`` from pyproject.toml."""

    def reportinfo(self) -> tuple[Path, int | None, str]:
        settings = self.config.stash[CONFIG]
        return (settings.path or self.path), None, self.nodeid


class HealthGates(pytest.Collector):
    """The parent of the declarative health items (they are made in ``pytest_collection_modifyitems``)."""

    def collect(self) -> list[pytest.Item]:
        return []


def declarative_gates(config: pytest.Config) -> list[HealthGate]:
    """The run's declarative gates, checked once; a mistake is a one-line usage error."""
    if gates_key not in config.stash:
        settings = config.stash[CONFIG]
        try:
            config.stash[gates_key] = load_gates(settings.section("health"))
        except ConfigError as exc:
            raise pytest.UsageError(str(exc.located(str(settings.path)) if settings.path else exc)) from None
    return config.stash[gates_key]


def pytest_sessionstart(session: pytest.Session) -> None:
    # Check the table up front (on the controller), even when no declarative gate is collected.
    if not hasattr(session.config, "workerinput") and CONFIG in session.config.stash:
        declarative_gates(session.config)


def _covers(config: pytest.Config, settings: ProdgateConfig) -> bool:
    assert settings.path is not None
    directory = (settings.path.parent / settings.section("health").get("collect_in", ".")).resolve()
    base = config.invocation_params.dir
    for arg in config.args:
        path = (base / arg.split("::", 1)[0]).resolve()
        if path == directory or path in directory.parents:
            return True
    return False


def _test_function(gate: HealthGate) -> Callable[..., None]:
    if isinstance(gate, EndpointGate):

        def health_endpoint(probe: Probe) -> None:
            __tracebackhide__ = True
            run_endpoint(gate, probe)

        return health_endpoint
    if isinstance(gate, TlsGate):

        def health_tls(tls: object) -> None:
            __tracebackhide__ = True
            tls.check(  # type: ignore[attr-defined]
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

    def health_headers(security_headers: object) -> None:
        __tracebackhide__ = True
        security_headers.check(gate.path, options=gate.options)  # type: ignore[attr-defined]

    return health_headers


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash.get(CONFIG, None)
    if settings is None or settings.path is None:
        return
    gates = declarative_gates(config)
    if not gates or not _covers(config, settings):
        return
    parent = HealthGates.from_parent(session, name="health", nodeid="health")
    made: list[pytest.Item] = []
    for gate in gates:
        marker = pytest.mark.health(thresholds=list(thresholds_of(gate)), severity=gate.severity)
        function = marker(_test_function(gate))
        made.append(HealthItem.from_parent(parent, name=gate.id, callobj=function))
    items.extend(made)
    # Counted in "collected N items" like any collector's result.
    session.ihook.pytest_collectreport(
        report=pytest.CollectReport(parent.nodeid, "passed", None, list[pytest.Item | pytest.Collector](made))
    )
