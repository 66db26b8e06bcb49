"""Figure changes against the baseline, as every report shows them: which figures, which way is worse, in what order.

Reads the gate records of a JSON gate report (version 3: each gate's ``baseline.figures`` holds the
baseline value, delta and change of each figure). ``attach_baseline`` fills those in for a report
written without a baseline (``prodgate report comment r.json --baseline base.json``).

A figure is a *regression* when it moved the wrong way by more than ``NOTABLE`` (5 %) or when a
threshold relative to the baseline failed on it. The wrong way comes from the figure's thresholds
(``p95 < ...``: up is worse; ``rps > ...``: down is worse), else from its name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_prodgate.thresholds import figure_kind, format_change, format_value

__all__ = ["NOTABLE", "FigureChange", "attach_baseline", "combine_reports", "figure_changes"]

NOTABLE = 0.05  # a change under 5 % is within the noise of a load test on a shared machine
SHOWN = 0.20  # a headline figure no threshold reads is listed only when it moved this much
HEADLINE = frozenset({"p50", "p95", "p99", "rps", "error_rate"})
_HIGHER_IS_BETTER = re.compile(r"(^|\.)(rps|ops|requests|iterations|days_left|vus)$|(success_rate|coverage)$")


@dataclass(frozen=True)
class FigureChange:
    """One figure of one gate against the baseline."""

    gate: str
    nodeid: str
    figure: str
    baseline: float
    measured: float
    change: float | None  # fraction; None when the baseline was 0
    worse_when_higher: bool
    judged: bool  # a threshold reads this figure
    failed_relative: bool  # a threshold relative to the baseline failed on it

    @property
    def regression(self) -> bool:
        if self.failed_relative:
            return True
        if self.change is None:
            return (self.measured > self.baseline) == self.worse_when_higher and self.measured != self.baseline
        worse = self.change > 0 if self.worse_when_higher else self.change < 0
        return worse and abs(self.change) >= NOTABLE

    def shown(self, value: float) -> str:
        return format_value(value, kind=figure_kind(self.figure))

    @property
    def arrow(self) -> str:
        """``▲ +241%`` / ``▼ -3.1%`` / ``= 0%``."""
        return format_change(self.measured, self.baseline)


def _worse_when_higher(figure: str, thresholds: Sequence[Mapping[str, Any]]) -> bool:
    for threshold in thresholds:
        if threshold.get("figure") == figure:
            wanted = str(threshold.get("wanted", "")).lstrip()
            if wanted.startswith("<"):
                return True
            if wanted.startswith(">"):
                return False
    return _HIGHER_IS_BETTER.search(figure) is None


def figure_changes(gates: Sequence[Mapping[str, Any]], *, every_figure: bool = False) -> list[FigureChange]:
    """The changes worth showing, regressions first (biggest first), then the rest by size of change.

    Figures a threshold reads are always shown; unscoped headline figures (p50, p95, p99, rps,
    error_rate) only when they moved by ``SHOWN`` or more; all of them with ``every_figure``.
    """
    changes = []
    for gate in gates:
        baseline = gate.get("baseline") or {}
        thresholds = gate.get("thresholds") or []
        judged = {str(t.get("figure")) for t in thresholds}
        failed = {
            str(t.get("figure")) for t in thresholds if t.get("baseline") is not None and t.get("verdict") == "fail"
        }
        measured_figures = gate.get("figures") or {}
        for figure, delta in (baseline.get("figures") or {}).items():
            base, measured = delta.get("baseline"), measured_figures.get(figure)
            if not isinstance(base, (int, float)) or not isinstance(measured, (int, float)):
                continue
            change = delta.get("change")
            headline = figure in HEADLINE and isinstance(change, (int, float)) and abs(change) >= SHOWN
            if not (every_figure or figure in judged or headline):
                continue
            changes.append(
                FigureChange(
                    gate=str(gate.get("name", "")),
                    nodeid=str(gate.get("nodeid", "")),
                    figure=figure,
                    baseline=float(base),
                    measured=float(measured),
                    change=float(change) if isinstance(change, (int, float)) else None,
                    worse_when_higher=_worse_when_higher(figure, thresholds),
                    judged=figure in judged,
                    failed_relative=figure in failed,
                )
            )
    return sorted(changes, key=lambda c: (not c.regression, -abs(c.change or 0.0), c.nodeid, c.figure))


def combine_reports(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One report of several runs (readiness and performance jobs): their gates, one summary; the first's run."""
    from pytest_prodgate.verdict import GateEntry, summarize

    if len(reports) == 1:
        return dict(reports[0])
    gates = [gate for report in reports for gate in report.get("gates", [])]
    summary = summarize(GateEntry.from_dict(gate) for gate in gates)
    return {**reports[0], "summary": summary, "gates": gates}


def attach_baseline(report: Mapping[str, Any], baseline_paths: Sequence[str]) -> dict[str, Any]:
    """A copy of ``report`` whose gates carry their baseline figures from the reports at ``baseline_paths``."""
    from pytest_prodgate.baseline import Baseline

    parts = [Baseline.load(path) for path in baseline_paths]
    merged = {nodeid: gate for part in parts for nodeid, gate in part.gates.items()}
    baseline = Baseline(", ".join(baseline_paths), merged, commit=parts[0].commit if parts else None)
    gates = []
    for gate in report.get("gates", []):
        scope = baseline.scope_for(str(gate.get("nodeid", "")))
        figures = {k: v for k, v in (gate.get("figures") or {}).items() if v is None or isinstance(v, (int, float))}
        gates.append({**gate, "baseline": scope.to_dict(figures)})
    return {**report, "gates": gates}
