"""A gate's record: the figures it measured, the thresholds that judge them, and its verdict.

Plain Python: the ``gate`` fixture hands a test the ``Gate`` of its item, family fixtures
(``load``, ``probe``, ``data``...) record into it, and the plugin judges it when the test ends.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_prodgate.errors import GateFailed, ThresholdError
from pytest_prodgate.thresholds import (
    Threshold,
    ThresholdResult,
    Verdict,
    parse_threshold,
)

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.bounds import BaselineScope

__all__ = ["Gate", "Severity", "format_results", "overall_verdict"]


class Severity(str, enum.Enum):
    """Whether a failed gate changes the exit code (``blocking``) or is only reported (``warning``)."""

    BLOCKING = "blocking"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


@dataclass
class Gate:
    """What one gate measured; ``check`` and ``judge`` hold it to thresholds."""

    name: str
    family: str | None = None
    severity: Severity = Severity.BLOCKING
    thresholds: tuple[Threshold, ...] = ()
    figures: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    checked: list[ThresholdResult] = field(default_factory=list)
    baseline: BaselineScope | None = None  # the baseline run's figures of this gate, for relative thresholds
    notes: list[str] = field(default_factory=list)  # lines that explain the figures, shown when the gate fails

    def record(self, name: str, value: float) -> None:
        """Record one figure in base units (seconds, bytes, fractions, per second)."""
        if not isinstance(name, str) or not name:
            raise ThresholdError(repr(name), repr(name), "a figure name must be a non-empty string")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ThresholdError(name, repr(value), f"figure {name!r} must be a number in base units, got {value!r}")
        self.figures[name] = float(value)

    def record_many(self, figures: Mapping[str, float], *, prefix: str | None = None) -> None:
        """Record several figures; ``prefix`` scopes them (``search`` makes ``search.p95``)."""
        for name, value in figures.items():
            self.record(f"{prefix}.{name}" if prefix else name, value)

    def attach(self, key: str, data: Any) -> None:
        """Keep JSON-serialisable detail (a latency series, attempt history) for the reports."""
        self.details[key] = data

    def check(self, *thresholds: str | Threshold, figures: Mapping[str, float] | None = None) -> list[ThresholdResult]:
        """Judge thresholds now, against ``figures`` or what was recorded; raise ``GateFailed`` on a miss.

        A malformed threshold raises ``ThresholdError`` (an error, not a failure). A relative threshold
        that could not be compared (no baseline figure) is a warning: kept, reported, not raised.
        """
        __tracebackhide__ = True
        parsed = [t if isinstance(t, Threshold) else parse_threshold(t) for t in thresholds]
        source = self.figures if figures is None else figures
        results = [t.judge(source, self.baseline) for t in parsed]
        self.checked.extend(results)
        failed = [r for r in results if r.verdict in (Verdict.FAIL, Verdict.ERROR)]
        if failed:
            raise GateFailed(format_results(results, self.notes), results)
        return results

    def judge(self) -> list[ThresholdResult]:
        """Judge the declared thresholds (marker and configuration) against the recorded figures."""
        return [t.judge(self.figures, self.baseline) for t in self.thresholds]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "severity": self.severity.value,
            "figures": {k: (None if math.isnan(v) else v) for k, v in self.figures.items()},
            "thresholds": [t.expression for t in self.thresholds],
            "details": self.details,
        }


def overall_verdict(results: Iterable[ThresholdResult]) -> Verdict:
    """ERROR if any threshold could not be judged, else FAIL if any failed, else WARNING if any warned, else PASS."""
    verdicts = {r.verdict for r in results}
    for verdict in (Verdict.ERROR, Verdict.FAIL, Verdict.WARNING):
        if verdict in verdicts:
            return verdict
    return Verdict.PASS


def format_results(results: Sequence[ThresholdResult], notes: Sequence[str] = ()) -> str:
    """A failure message: one line per missed threshold, the table of every threshold judged, then ``notes``."""
    missed = [r for r in results if not r.passed]
    lines = ["; ".join(r.message for r in missed) or "all thresholds met"]
    rows = [("figure", "measured", "wanted", "verdict")]
    for r in results:
        t = r.threshold
        measured = "-" if r.measured is None else t.shown(r.measured)
        rows.append((t.key, measured, t.wanted(r.limit), r.verdict.value.upper()))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines.append("")
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)
