"""The plugin's public seams: what a run keeps in pytest's stash, and how family glue reads it.

Family glue (``plugin/health.py``, ``plugin/data.py``...) and conftest files use these
functions, never another module's private names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

# Every pytest run imports this module; what it names below is imported by the runs that meet a gate.
if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.config import ProdgateConfig
    from pytest_prodgate.errors import ConfigError  # noqa: F401 (named in a stash key below)
    from pytest_prodgate.gate import Gate
    from pytest_prodgate.plugin.markers import GateSpec
    from pytest_prodgate.thresholds import ThresholdResult
    from pytest_prodgate.verdict import GateEntry

__all__ = [
    "CONFIG",
    "DECLARED",
    "ENTRIES",
    "GATE",
    "SPEC",
    "SPEC_ERROR",
    "gate_entries",
    "gate_for",
    "is_gate",
    "settings",
    "spec_for",
]

CONFIG = pytest.StashKey["ProdgateConfig"]()  # config.stash: the run's merged [tool.prodgate]
ENTRIES = pytest.StashKey[list["GateEntry"]]()  # config.stash: every gate judged so far (controller: all workers')
SPEC = pytest.StashKey["GateSpec"]()  # item.stash: what the family marker declares
SPEC_ERROR = pytest.StashKey["ConfigError"]()  # item.stash: a marker mistake, raised when the item runs
GATE = pytest.StashKey["Gate"]()  # item.stash: what the gate measured
DECLARED = pytest.StashKey[list["ThresholdResult"]]()  # item.stash: the declared thresholds, judged


def settings(config: pytest.Config) -> ProdgateConfig:
    """The run's ``[tool.prodgate]`` settings (environment applied)."""
    return config.stash[CONFIG]


def spec_for(item: pytest.Item) -> GateSpec | None:
    return item.stash.get(SPEC, None)


def is_gate(item: pytest.Item) -> bool:
    return SPEC in item.stash


def gate_for(item: pytest.Item) -> Gate:
    """The ``Gate`` of an item (made on first use from its marker's spec)."""
    gate = item.stash.get(GATE, None)
    if gate is None:
        from pytest_prodgate.gate import Gate, Severity  # loaded by the first gate, not by every run

        spec = spec_for(item)
        gate = Gate(
            name=item.name,
            family=spec.family if spec else None,
            severity=spec.severity if spec else Severity.BLOCKING,
            thresholds=spec.thresholds if spec else (),
        )
        item.stash[GATE] = gate
    return gate


def gate_entries(config: pytest.Config) -> list[GateEntry]:
    """Every gate entry recorded so far in this run, a rerun replacing its earlier attempt."""
    latest: dict[str, GateEntry] = {}
    for entry in config.stash.get(ENTRIES, []):
        latest[entry.nodeid] = entry
    return list(latest.values())
