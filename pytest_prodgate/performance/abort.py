"""Abort early (opt-in, like k6's ``abortOnFail``): stop once a threshold can no longer pass.

Counts can be proved lost: with 1,000 requests planned, ``error_rate < 1%`` cannot pass once
there are 10 errors, and ``max < 1s`` cannot pass once one request took longer. Percentiles and
averages can still move, so they abort only once ``min_samples`` requests are in and the
threshold fails on them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pytest_prodgate.performance.plan import LoadPlan, planned_arrivals
from pytest_prodgate.performance.result import LoadResult
from pytest_prodgate.thresholds import Threshold, format_value

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.performance.engine import LoadRun

__all__ = ["AbortWatch"]

_COUNTS = {"errors", "dropped"}
_RATES = {"error_rate", "success_rate"}
_SETTLED = {"max"}  # can only grow
_STATISTICS = {"min", "avg", "p50", "p90", "p95", "p99", "p99.9"}


class AbortWatch:
    """Judges the figures so far at each interval and says why the run should stop, if it should."""

    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.thresholds = [t for t in plan.thresholds if self._watchable(t)]

    @staticmethod
    def _watchable(t: Threshold) -> bool:
        name = t.figure
        if name in _COUNTS or name.startswith("errors_"):
            return t.op in ("<", "<=")
        if name == "error_rate":
            return t.op in ("<", "<=")
        if name == "success_rate":
            return t.op in (">", ">=")
        if name in _SETTLED:
            return t.op in ("<", "<=")
        return name in _STATISTICS

    def planned_total(self, requests: int, elapsed: float) -> float:
        plan = self.plan
        if plan.open_model:
            return float(planned_arrivals(plan))
        if plan.iterations is not None:
            return float(plan.iterations)
        if plan.duration and elapsed > 0:
            return max(requests / elapsed * plan.duration, float(requests))
        return float(requests)

    def check(self, run: LoadRun, elapsed: float) -> str | None:
        if not self.thresholds:
            return None
        partial = LoadResult(target=self.plan.url, scenarios=run.scenario_results(), duration=max(elapsed, 1e-9))
        figures = partial.figures
        for t in self.thresholds:
            key = t.key
            if key not in figures:
                continue
            measured = figures[key]
            if math.isnan(measured) or t.holds(measured):
                continue
            requests = figures.get(f"{t.scope}.requests" if t.scope else "requests", 0.0)
            errors = figures.get(f"{t.scope}.errors" if t.scope else "errors", 0.0)
            name = t.figure
            label = f"{t.scope}: {name}" if t.scope else name
            if name in _RATES:
                total = figures.get("requests", 0.0)
                planned = self.planned_total(int(total), elapsed)
                if t.scope and total:
                    planned *= requests / total  # the scenario's share of the plan
                best = errors / planned if planned else 1.0
                best = best if name == "error_rate" else 1.0 - best
                if not t.holds(best):
                    return (
                        f"{label} can no longer pass: {int(errors):,} errors of about {int(planned):,} planned requests, "
                        f"wanted {t.wanted()}"
                    )
            elif name in _COUNTS or name.startswith("errors_") or name in _SETTLED:
                return f"{label} = {format_value(measured, t.unit, t.kind)}, wanted {t.wanted()}: it can only grow"
            elif requests >= self.plan.min_samples:
                return f"{label} = {format_value(measured, t.unit, t.kind)}, wanted {t.wanted()}, after {int(requests):,} requests"
        return None
