"""Reading the JSON gate report (``pytest --prodgate-json PATH``) and deciding whether the gates passed.

The decision is the core's (``verdict.decide_run`` over the report's gates): a blocking gate that
failed, errored or was skipped without an allowance blocks; a warning gate does not; a run in which
no gate decided does not pass. When the report is missing or unreadable, the decision falls back to
pytest's exit code, and says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_prodgate.verdict import SCHEMA_NAME, GateEntry, decide_run

__all__ = ["GateDecision", "decide", "read_gate_report"]

# pytest's exit codes: 0 ok, 1 tests failed, 2 interrupted, 3 internal error, 4 usage error, 5 none collected.
PYTEST_EXIT = {
    0: "all passed",
    1: "tests failed",
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no tests collected",
}


@dataclass(frozen=True)
class GateDecision:
    """Whether a gate run passed, why (one line), and the report's summary when there was one."""

    passed: bool
    reason: str
    summary: dict[str, Any] = field(default_factory=dict)
    blocking: list[str] = field(default_factory=list)  # "nodeid: decided_by" of each blocking gate
    warnings: list[str] = field(default_factory=list)
    from_report: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reason": self.reason,
            "summary": self.summary,
            "blocking": self.blocking,
            "warnings": self.warnings,
            "decided_by": "gate report" if self.from_report else "pytest exit code",
        }


def read_gate_report(path: Path) -> dict[str, Any] | None:
    """The parsed report, or None when the file is missing, empty or not a gate report."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_NAME or not isinstance(data.get("summary"), dict):
        return None
    return data


def _gate_line(entry: GateEntry) -> str:
    why = entry.decided_by or entry.message or entry.verdict
    return f"{entry.nodeid or entry.name}: {why.splitlines()[0] if why else ''}".rstrip(": ")


def decide(report: dict[str, Any] | None, exit_code: int | None, *, expression: str) -> GateDecision:
    """The decision for one gate run (``-m expression``) from its report and pytest's exit code."""
    if report is None:
        meaning = PYTEST_EXIT.get(exit_code, "no exit code") if exit_code is not None else "did not run"
        passed = exit_code == 0
        return GateDecision(
            passed,
            f"no gate report; decided by pytest's exit code {exit_code} ({meaning})",
            from_report=False,
        )
    summary = {
        key: report["summary"].get(key)
        for key in ("total", "fail", "error", "skip", "warning", "pass", "blocking_failures")
        if key in report["summary"]
    }
    entries = [GateEntry.from_dict(g) for g in report.get("gates", []) if isinstance(g, dict)]
    decision = decide_run(entries)
    blocking = [_gate_line(e) for e in decision.blocking]
    warnings = [_gate_line(e) for e in decision.warnings]
    run_status = report.get("run", {}).get("exit_status", exit_code)
    if decision.blocking:
        return GateDecision(False, decision.reason, summary, blocking, warnings)
    if run_status in (2, 3, 4):
        return GateDecision(
            False, f"pytest ended with exit code {run_status} ({PYTEST_EXIT[run_status]})", summary, blocking, warnings
        )
    if not entries:
        return GateDecision(False, f"no gates selected by -m {expression!r}", summary, blocking, warnings)
    return GateDecision(decision.passed, decision.reason, summary, blocking, warnings)
