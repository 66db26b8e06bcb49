"""The verdict of a gate and of a run: plain Python, decided once, read by every consumer.

``judge`` turns a ``Gate`` (what it measured, every threshold judged, marker and inline alike) and
how its test ended (an ``Outcome``) into an immutable ``GateEntry``. ``decide_run`` says whether a
run of entries passes. The terminal table, the JSON, Markdown and HTML reports, JUnit properties,
``prodgate data`` and ``prodgate deploy`` all read these two; nothing re-derives them from strings.

Rules, in one place:

- a gate's verdict is ``pass``, ``fail``, ``warning`` (a failed gate of severity ``warning``),
  ``error`` (it could not be judged: a broken setup, a configuration mistake, an unjudgeable
  threshold) or ``skip`` (its test was skipped; the reason is kept whole);
- a gate *blocks* when it is blocking and failed or errored, or when it is blocking and skipped
  without an allowance (``allow_skip``: per gate, per family, or per node-id pattern);
- a run passes when at least one gate decided (passed, failed or warned) and no gate blocks;
  a run that selected no gate, or in which every gate was skipped or errored, never passes.
"""

from __future__ import annotations

import enum
import fnmatch
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_prodgate.errors import ConfigError, CouldNotRun, GateFailed
from pytest_prodgate.gate import Gate, Severity, overall_verdict
from pytest_prodgate.thresholds import ThresholdResult, Verdict, figure_kind, format_change, format_value

__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "VERDICT_ORDER",
    "GateEntry",
    "Outcome",
    "RunDecision",
    "count_verdicts",
    "decide_run",
    "deciding_figure",
    "judge",
    "shown_reason",
    "skip_allowance",
    "summarize",
]

# The JSON gate report's schema name and version (``report/gate-report.schema.json``).
SCHEMA_NAME = "pytest-prodgate/gate-report"
SCHEMA_VERSION = 3

# Worst first: the order of counts in summaries and of rows that need attention.
VERDICT_ORDER = ("fail", "error", "skip", "warning", "pass")
_DECIDED = frozenset({"pass", "fail", "warning"})


class Outcome(str, enum.Enum):
    """How a gate's test ended, as the test runner saw it."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class GateEntry:
    """One gate's verdict: immutable, JSON-ready through ``to_dict``."""

    nodeid: str
    name: str
    family: str | None
    severity: str
    verdict: str
    decided_by: str  # the deciding figure, or the whole reason it failed, errored or was skipped
    message: str = ""
    figures: Mapping[str, float | None] = field(default_factory=dict)
    thresholds: tuple[Mapping[str, Any], ...] = ()
    duration: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)
    skip_allowed: str | None = None  # the project's reason why skipping this gate is fine
    # Against the baseline (``--prodgate-baseline``): what was matched and each figure's baseline value
    # and delta (``BaselineScope.to_dict``); None when the run had no baseline.
    baseline: Mapping[str, Any] | None = None

    @property
    def blocking(self) -> bool:
        """Whether this gate stops a run (and a deploy) from passing."""
        if self.severity != Severity.BLOCKING.value:
            return False
        if self.verdict in ("fail", "error"):
            return True
        return self.verdict == "skip" and not self.skip_allowed

    @property
    def decided(self) -> bool:
        return self.verdict in _DECIDED

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "name": self.name,
            "family": self.family,
            "severity": self.severity,
            "verdict": self.verdict,
            "decided_by": self.decided_by,
            "blocking": self.blocking,
            "skip_allowed": self.skip_allowed,
            "figures": {k: _finite(v) for k, v in self.figures.items()},
            "thresholds": [dict(t) for t in self.thresholds],
            "message": self.message,
            "duration": self.duration,
            "details": dict(self.details),
            "baseline": _finite_tree(self.baseline),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateEntry:
        return cls(
            nodeid=str(data.get("nodeid", "")),
            name=str(data.get("name", data.get("nodeid", ""))),
            family=data.get("family"),
            severity=str(data.get("severity", Severity.BLOCKING.value)),
            verdict=str(data.get("verdict", "error")),
            decided_by=str(data.get("decided_by", "")),
            message=str(data.get("message", "")),
            figures=dict(data.get("figures") or {}),
            thresholds=tuple(dict(t) for t in data.get("thresholds") or ()),
            duration=float(data.get("duration") or 0.0),
            details=dict(data.get("details") or {}),
            skip_allowed=data.get("skip_allowed"),
            baseline=data.get("baseline"),
        )

    def deltas(self) -> dict[str, dict[str, float | None]]:
        """Per figure: ``{"baseline", "delta", "change"}`` (change as a fraction); empty without a baseline."""
        figures = (self.baseline or {}).get("figures") or {}
        return {str(k): dict(v) for k, v in figures.items() if isinstance(v, Mapping)}


def _finite(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return None
    return value


def _finite_tree(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _finite_tree(v) for k, v in value.items()}
    if isinstance(value, float):
        return _finite(value)
    return value


def _short(result: ThresholdResult) -> str:
    if result.verdict in (Verdict.ERROR, Verdict.WARNING):  # could not be judged: its message says why, whole
        return result.message
    t = result.threshold
    label = f"{t.scope}: {t.figure}" if t.scope else t.figure
    if result.measured is None:
        return f"{label} not recorded"
    measured = t.shown(result.measured)
    change = ""
    if result.baseline is not None:
        was = t.shown(result.baseline)
        change = f"; baseline {was}, {format_change(result.measured, result.baseline)}"
    if result.passed:
        return f"{label} {measured} {t.wanted(result.limit)}{change}"
    return f"{label} {measured}, wanted {t.wanted(result.limit)}{change}"


def deciding_figure(results: Sequence[ThresholdResult], figures: Mapping[str, float]) -> str:
    """The phrase that decided a gate: the first missed threshold, else the first judged, else a figure."""
    for result in results:
        if not result.passed:
            return _short(result)
    if results:
        return _short(results[0])
    for name, value in figures.items():
        return f"{name} {format_value(value, kind=figure_kind(name))}"
    return ""


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""


def shown_reason(gate: Mapping[str, Any]) -> str:
    """The whole reason shown for a gate (its dict form): what decided it, and an allowed skip's allowance.

    The one rule the terminal table, the Markdown and the HTML share.
    """
    reason = str(gate.get("decided_by") or "")
    if gate.get("verdict") == "skip" and gate.get("skip_allowed"):
        reason += f" (skip allowed: {gate['skip_allowed']})"
    return reason


def _all_results(
    gate: Gate, declared: Sequence[ThresholdResult], raised: Sequence[ThresholdResult]
) -> list[ThresholdResult]:
    """Declared (marker/config), inline (``gate.check``) and raised results, each threshold once.

    A later judgement of the same threshold replaces an earlier one; what ``GateFailed`` carried only
    fills in thresholds not judged otherwise.
    """
    merged: dict[str, ThresholdResult] = {}
    for result in [*declared, *gate.checked]:
        merged[result.threshold.expression] = result
    for result in raised:
        merged.setdefault(result.threshold.expression, result)
    return list(merged.values())


def judge(
    gate: Gate,
    outcome: Outcome,
    *,
    nodeid: str,
    declared: Sequence[ThresholdResult] = (),
    in_call: bool = True,
    error: BaseException | None = None,
    message: str = "",
    duration: float = 0.0,
    skip_allowed: str | None = None,
) -> GateEntry:
    """The verdict of one gate.

    ``declared`` are the marker's (or configuration's) thresholds judged against the figures;
    ``gate.checked`` adds the inline ones. ``in_call`` is false when the test failed or was skipped
    in its setup or teardown; ``error`` is the exception that ended it; ``message`` the text a
    person should read (the skip reason, the failure, the error).
    """
    results = _all_results(gate, declared, error.results if isinstance(error, GateFailed) else ())
    verdict = Verdict.PASS
    if outcome is Outcome.SKIPPED:
        verdict = Verdict.SKIP
    elif outcome is Outcome.FAILED:
        if not in_call or isinstance(error, (ConfigError, CouldNotRun)):
            verdict = Verdict.ERROR
        elif isinstance(error, GateFailed):
            overall = overall_verdict(results)
            verdict = overall if overall in (Verdict.ERROR, Verdict.WARNING) else Verdict.FAIL
        else:
            verdict = Verdict.FAIL
        if verdict is Verdict.FAIL and gate.severity is Severity.WARNING:
            verdict = Verdict.WARNING
    elif outcome is Outcome.PASSED and overall_verdict(results) is Verdict.WARNING:
        verdict = Verdict.WARNING  # e.g. a threshold relative to a baseline that has no such figure
        message = message or "\n".join(r.message for r in results if r.verdict is Verdict.WARNING)
    missed = any(r.verdict is not Verdict.PASS for r in results)
    if verdict is Verdict.PASS or (missed and (isinstance(error, GateFailed) or outcome is Outcome.PASSED)):
        decided = deciding_figure(results, gate.figures)
    else:  # skipped, or failed for another reason than a threshold: that reason, whole
        decided = _first_line(message)
    return GateEntry(
        nodeid=nodeid,
        name=gate.name,
        family=gate.family,
        severity=gate.severity.value,
        verdict=verdict.value,
        decided_by=decided,
        message=message,
        figures=dict(gate.figures),
        thresholds=tuple(r.to_dict() for r in results),
        duration=duration,
        details=dict(gate.details),
        skip_allowed=skip_allowed if verdict is Verdict.SKIP else None,
        baseline=gate.baseline.to_dict(gate.figures) if gate.baseline is not None else None,
    )


def skip_allowance(settings: Any, family: str | None, nodeid: str, marker_reason: str | None = None) -> str | None:
    """The project's reason why this gate may be skipped, or ``None``.

    In order: the marker's ``allow_skip="reason"``; ``[tool.prodgate.allow_skip]`` (node-id glob ->
    reason); ``[tool.prodgate.FAMILY] allow_skip = "reason"``.
    """
    if marker_reason:
        return marker_reason
    patterns = settings.get("allow_skip") or {}
    for pattern, reason in patterns.items():
        if fnmatch.fnmatchcase(nodeid, pattern) or fnmatch.fnmatchcase(nodeid.split("[", 1)[0], pattern):
            return str(reason)
    if family:
        reason = settings.section(family).get("allow_skip")
        if reason:
            return str(reason)
    return None


def count_verdicts(entries: Iterable[GateEntry]) -> dict[str, int]:
    """``{verdict: count}`` worst first, only verdicts that occurred."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.verdict] = counts.get(entry.verdict, 0) + 1
    return {v: counts[v] for v in VERDICT_ORDER if v in counts}


@dataclass(frozen=True)
class RunDecision:
    """Whether a run of gates passes, and the one line that says why."""

    passed: bool
    reason: str
    blocking: tuple[GateEntry, ...] = ()
    warnings: tuple[GateEntry, ...] = ()


_PAST = {"fail": "failed", "error": "errored", "skip": "skipped without an allowance"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def decide_run(entries: Iterable[GateEntry]) -> RunDecision:
    """A run passes when at least one gate decided and no gate blocks."""
    entries = list(entries)
    blocking = tuple(e for e in entries if e.blocking)
    warnings = tuple(e for e in entries if e.verdict == "warning")
    if not entries:
        return RunDecision(False, "no gate was selected")
    if blocking:
        kinds = count_verdicts(blocking)
        said = ", ".join(f"{n} {_PAST[v]}" for v, n in kinds.items())
        return RunDecision(
            False, f"{_plural(len(blocking), 'blocking gate')} did not pass ({said})", blocking, warnings
        )
    if not any(e.decided for e in entries):
        return RunDecision(False, f"none of the {_plural(len(entries), 'gate')} decided (all skipped or errored)")
    reason = f"{_plural(len(entries), 'gate')}, none blocking"
    if warnings:
        reason += f" ({_plural(len(warnings), 'warning')}, non-blocking)"
    return RunDecision(True, reason, blocking, warnings)


def summarize(entries: Iterable[GateEntry]) -> dict[str, Any]:
    """The JSON report's ``summary``: counts per verdict, blocking gates, and the run decision."""
    entries = list(entries)
    summary: dict[str, Any] = {"total": len(entries), **{v: 0 for v in VERDICT_ORDER}}
    for entry in entries:
        summary[entry.verdict] = summary.get(entry.verdict, 0) + 1
    decision = decide_run(entries)
    summary["blocking_failures"] = len(decision.blocking)
    summary["passed"] = decision.passed
    summary["reason"] = decision.reason
    return summary
