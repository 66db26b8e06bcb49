"""What every readiness check returns: a verdict, figures in base units and one finding per problem.

Plain Python (never imports pytest). A check function builds a ``ReadinessResult``; the pytest
glue records its figures into the ``gate`` and raises ``GateFailed`` with one line per finding,
the CLI prints the same lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_prodgate.errors import GateFailed
from pytest_prodgate.redact import Redactor
from pytest_prodgate.thresholds import ThresholdResult, Verdict, evaluate, format_value, parse_threshold

__all__ = ["Finding", "ReadinessResult", "build_result"]

# Every readiness result carries this figure; the implied threshold ``problems == 0`` judges it.
PROBLEMS = "problems"


@dataclass(frozen=True)
class Finding:
    """One problem: a stable id (``security.W004``, ``env.missing``) and a line a person can act on."""

    id: str
    message: str

    def line(self) -> str:
        return f"[{self.id}] {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "message": self.message}


@dataclass
class ReadinessResult:
    """The outcome of one readiness check.

    ``verdict`` is ``error`` when the check could not run at all (a tool missing, the advisory
    service unreachable): that is never a pass. ``waived`` keeps the findings waived in the
    configuration with their reasons, so reports can show them.
    """

    check: str
    verdict: Verdict
    figures: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    waived: list[tuple[Finding, str]] = field(default_factory=list)
    thresholds: list[ThresholdResult] = field(default_factory=list)
    summary: str = ""
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def lines(self) -> list[str]:
        """One line per problem, waived findings last."""
        lines = [f.line() for f in self.findings]
        if self.error:
            lines.insert(0, f"[{self.check}.error] {self.error}")
        if self.findings or self.error:
            lines += [f"note: {note}" for note in self.notes]
        lines += [f"waived {f.id}: {reason}" for f, reason in self.waived]
        return lines

    def message(self) -> str:
        """The failure message: a headline, then one bulleted line per problem."""
        if self.verdict is Verdict.ERROR:
            head = f"could not run: {self.error}"
        elif self.verdict is Verdict.PASS:
            head = f"passed: {self.summary}" if self.summary else "passed"
        else:
            # The first line is what summary tables show: the one problem, or every problem's id (a
            # clipped first message would hide the rest).
            if len(self.findings) > 1:
                ids = list(dict.fromkeys(f.id for f in self.findings))
                head = f"{len(self.findings)} problems: {', '.join(ids)}"
            else:
                head = self.findings[0].line() if self.findings else "failed"
        lines = self.lines()
        if self.verdict is Verdict.ERROR and self.error:
            lines = lines[1:]  # the headline already is the reason, said once
        if (self.verdict is Verdict.FAIL and len(lines) == 1) or not lines:
            return head  # the one problem (or the one reason) is the headline
        body = [f"  - {line}" for line in lines]
        return "\n".join([head, *body])

    def raise_for_problems(self) -> None:
        """Raise ``GateFailed`` (one line per problem) unless the check passed."""
        __tracebackhide__ = True
        if self.verdict is Verdict.PASS:
            return
        # The results carry the verdict to the plugin: ``problems == 0`` failed, or could not be judged.
        results = list(self.thresholds)
        threshold = parse_threshold(f"{PROBLEMS} == 0")
        if self.verdict is Verdict.ERROR and not any(r.verdict is Verdict.ERROR for r in results):
            results.append(ThresholdResult(threshold, Verdict.ERROR, None, self.error or "the check could not run"))
        elif self.verdict is Verdict.FAIL and results and not any(r.verdict is Verdict.FAIL for r in results):
            # Without results the plugin fails the gate and shows the message's first line (the first problem).
            count = len(self.findings)
            results.append(ThresholdResult(threshold, Verdict.FAIL, float(count), f"{PROBLEMS} = {count}, wanted == 0"))
        raise GateFailed(self.message(), results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "verdict": self.verdict.value,
            "figures": dict(self.figures),
            "findings": [f.to_dict() for f in self.findings],
            "waived": [{**f.to_dict(), "reason": reason} for f, reason in self.waived],
            "thresholds": [r.to_dict() for r in self.thresholds],
            "summary": self.summary,
            "error": self.error,
            "notes": list(self.notes),
        }


def build_result(
    check: str,
    findings: Iterable[Finding],
    figures: Mapping[str, float] | None = None,
    *,
    thresholds: Sequence[str] = (),
    waivers: Mapping[str, str] | None = None,
    summary: str = "",
    error: str | None = None,
    notes: Sequence[str] = (),
    redactor: Redactor | None = None,
) -> ReadinessResult:
    """Apply waivers and thresholds to what a check found and decide its verdict.

    A failed threshold becomes a finding ``threshold.<figure>`` with the measured value beside
    the wanted one; ``error`` (the check could not run) makes the verdict ``error``.
    """
    waivers = waivers or {}
    figures = dict(figures or {})
    kept: list[Finding] = []
    waived: list[tuple[Finding, str]] = []
    for finding in findings:
        if finding.id in waivers:
            waived.append((finding, waivers[finding.id]))
        else:
            kept.append(finding)
    results = evaluate(list(thresholds), figures) if thresholds else []
    # Judged figures first: a gate's summary line shows its first figure.
    judged = [r.threshold.key for r in results if r.threshold.key in figures]
    figures = {**{key: figures[key] for key in judged}, **figures}
    for result in results:
        if result.verdict is Verdict.FAIL:
            kept.append(Finding(f"threshold.{result.threshold.key}", result.message))
        elif result.verdict is Verdict.ERROR and error is None:
            kept.append(Finding(f"threshold.{result.threshold.key}", result.message))
    if redactor is not None:
        kept = [Finding(f.id, redactor.text(f.message)) for f in kept]
        summary = redactor.text(summary)
        error = redactor.text(error) if error else error
        notes = [redactor.text(note) for note in notes]
    if error is None:
        figures[PROBLEMS] = float(len(kept))
    if error is not None:
        verdict = Verdict.ERROR
    elif kept:
        verdict = Verdict.FAIL
    else:
        verdict = Verdict.PASS
    return ReadinessResult(
        check=check,
        verdict=verdict,
        figures=figures,
        findings=kept,
        waived=waived,
        thresholds=results,
        summary=summary,
        error=error,
        notes=list(notes),
    )


def describe_figure(name: str, value: float) -> str:
    """``cpu 12.5%``-style text for summaries."""
    from pytest_prodgate.thresholds import Kind, figure_kind

    kind = figure_kind(name)
    return f"{name} {format_value(value, '%' if kind is Kind.FRACTION else '', kind)}"
