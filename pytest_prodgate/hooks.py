"""Hooks pytest-prodgate offers to conftest files and plugins (added in ``pytest_addhooks``)."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_prodgate_gate_judged(item: pytest.Item, entry: dict[str, Any]) -> None:
    """Called once a gate has its verdict, before its record travels with the report.

    ``entry`` holds nodeid, family, severity, verdict, decided_by, figures, thresholds, message and
    details; add JSON-serialisable keys to it, or send it elsewhere. Example, in a conftest.py::

        def pytest_prodgate_gate_judged(item, entry):
            entry["owner"] = item.get_closest_marker("owner").args[0]
    """


def pytest_prodgate_summary_lines(config: pytest.Config, entries: list[dict[str, Any]]) -> list[str]:
    """Return extra lines to print under the gate table (every implementation's lines are shown).

    Example, in a conftest.py::

        def pytest_prodgate_summary_lines(config, entries):
            slow = [e for e in entries if e["figures"].get("p95", 0) > 0.3]
            return [f"{len(slow)} gates have p95 over 300 ms"]
    """
    return []
