"""Hooks pytest-prodgate offers to conftest files and plugins (added in ``pytest_addhooks``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.verdict import GateEntry


@pytest.hookspec(firstresult=True)
def pytest_prodgate_gate_judged(item: pytest.Item, entry: GateEntry) -> GateEntry | None:
    """Called once a gate has its verdict, before its record travels with the report.

    ``entry`` is an immutable ``pytest_prodgate.verdict.GateEntry`` (nodeid, family, severity,
    verdict, decided_by, figures, thresholds, message, details...). Return a changed copy to
    replace it (the first implementation that returns one wins), or ``None`` to keep it; or send it
    elsewhere. Example, in a conftest.py::

        import dataclasses

        def pytest_prodgate_gate_judged(item, entry):
            owner = item.get_closest_marker("owner").args[0]
            return dataclasses.replace(entry, details={**entry.details, "owner": owner})
    """
    return None


def pytest_prodgate_summary_lines(config: pytest.Config, entries: list[GateEntry]) -> list[str]:
    """Return extra lines to print under the gate table (every implementation's lines are shown).

    Example, in a conftest.py::

        def pytest_prodgate_summary_lines(config, entries):
            slow = [e for e in entries if (e.figures.get("p95") or 0) > 0.3]
            return [f"{len(slow)} gates have p95 over 300 ms"]
    """
    return []
