"""The baseline: an earlier run's JSON gate report (e.g. main's CI artifact) that this run's gates compare with.

``Baseline.load(path)`` reads the report; ``Baseline.scope_for(nodeid)`` finds the baseline gate of one
gate and returns a ``bounds.BaselineScope`` (its figures, or why there are none) for thresholds such as
``p95 < baseline * 1.1`` and for the deltas every report shows.

How a gate finds its baseline gate, first rule that gives exactly one wins:

1. **node id**: the same node id (``tests/test_load.py::test_catalogue[10]``);
2. **renamed**: ``[tool.prodgate.report] baseline_renamed = {"NEW node id" = "OLD node id"}`` says so;
3. **moved**: the same test name and parameters (``test_catalogue[10]``, with its class) in another file;
4. **parameters**: the same test without its parameters (``...::test_catalogue``) has exactly one
   parametrization in the baseline (its parameters were renamed).

No match is reported, never guessed further: the gate's relative thresholds are not compared and
take the ``missing`` verdict (a warning by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_prodgate.bounds import BaselineScope
from pytest_prodgate.errors import ConfigError, ProdgateError

__all__ = ["MISSING_VERDICTS", "Baseline"]

MISSING_VERDICTS = ("warning", "fail", "error")


def _tail(nodeid: str) -> str:
    """``Class::test_x[p]`` of ``dir/file.py::Class::test_x[p]``: the node id without its file."""
    return nodeid.split("::", 1)[1] if "::" in nodeid else nodeid


def _without_parameters(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


@dataclass(frozen=True)
class Baseline:
    """A baseline gate report, indexed for matching."""

    source: str
    gates: Mapping[str, Mapping[str, Any]]  # node id -> the gate's record in the report
    renamed: Mapping[str, str] = field(default_factory=dict)  # new node id -> old node id
    missing: str = "warning"
    commit: str | None = None

    @classmethod
    def load(cls, path: str | Path, *, renamed: Mapping[str, str] | None = None, missing: str = "warning") -> Baseline:
        """Read a gate report as the baseline; a missing or foreign file is a ``ConfigError`` naming it."""
        from pytest_prodgate.report.jsonreport import read_report

        if missing not in MISSING_VERDICTS:
            raise ConfigError(
                f"baseline_missing = {missing!r}: expected one of {', '.join(repr(v) for v in MISSING_VERDICTS)}"
            )
        try:
            report = read_report(path)
        except ProdgateError as exc:
            raise ConfigError(f"baseline {exc}") from None
        gates = {str(g.get("nodeid", "")): g for g in report.get("gates", []) if isinstance(g, Mapping)}
        commit = (report.get("run") or {}).get("git_commit")
        return cls(str(path), gates, dict(renamed or {}), missing, commit)

    def match(self, nodeid: str) -> tuple[str | None, str]:
        """``(baseline node id, rule)`` of the baseline gate of ``nodeid``; ``(None, why)`` when none matches."""
        if nodeid in self.gates:
            return nodeid, "node id"
        old = self.renamed.get(nodeid)
        if old is not None:
            if old in self.gates:
                return old, "renamed"
            return None, f"baseline_renamed names {old!r}, which the baseline does not have"
        moved = [n for n in self.gates if _tail(n) == _tail(nodeid)]
        if len(moved) == 1:
            return moved[0], "moved"
        base = _without_parameters(nodeid)
        if base != nodeid:
            siblings = [n for n in self.gates if _without_parameters(n) == base]
            if len(siblings) == 1:
                return siblings[0], "parameters"
        return None, f"the baseline ({self.source}) has no gate {nodeid!r}"

    def scope_for(self, nodeid: str) -> BaselineScope:
        """What a gate's thresholds and reports compare with."""
        matched, rule = self.match(nodeid)
        if matched is None:
            return BaselineScope(figures=None, absent=rule, source=self.source, missing=self.missing)
        figures = self.gates[matched].get("figures") or {}
        return BaselineScope(
            figures={str(k): v for k, v in figures.items() if v is None or isinstance(v, (int, float))},
            matched=matched,
            source=self.source,
            missing=self.missing,
            rule=rule,
        )
