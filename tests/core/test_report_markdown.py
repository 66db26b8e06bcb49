"""The Markdown summary for pull requests."""

from __future__ import annotations

from pathlib import Path

from pytest_prodgate.report.markdown import MARKER, append_step_summary, render_markdown
from pytest_prodgate.verdict import GateEntry, summarize


def gate(name: str, verdict: str, decided: str = "p95 41 ms < 500 ms", message: str = "") -> dict[str, object]:
    return {
        "nodeid": f"gates/test_g.py::{name}",
        "name": name,
        "family": "performance",
        "severity": "blocking",
        "verdict": verdict,
        "decided_by": decided,
        "message": message,
    }


def report(*gates: dict[str, object], blocking: int = 0) -> dict[str, object]:
    entries = [GateEntry.from_dict(g) for g in gates]
    summary = summarize(entries)
    assert summary["blocking_failures"] == blocking
    return {
        "run": {"environment": "staging", "base_url": "http://127.0.0.1:8000", "git_commit": "0123456789abcdef"},
        "summary": summary,
        "gates": list(gates),
    }


def test_failures_come_first_when_gates_are_mixed() -> None:
    text = render_markdown(
        report(
            gate("a_pass", "pass"),
            gate("b_warn", "warning"),
            gate("c_fail", "fail", message="p95 = 812 ms"),
            blocking=1,
        )
    )
    rows = [line for line in text.splitlines() if line.startswith("| :")]
    assert [row.split("`")[1] for row in rows] == ["c_fail", "b_warn", "a_pass"]
    assert text.startswith(MARKER)
    assert ":x: **Gates did not pass**: 1 fail, 1 warning, 1 pass — 1 blocking gate did not pass (1 failed)" in text
    assert "commit `0123456789ab`" in text
    assert "p95 = 812 ms" in text  # the failure message, folded under <details>


def test_pipes_and_newlines_stay_inside_a_cell_when_a_figure_has_them() -> None:
    text = render_markdown(report(gate("a", "fail", decided="a | b\nc"), blocking=1))
    assert "| a \\| b c |" in text


def test_table_is_cut_when_there_are_more_gates_than_rows() -> None:
    text = render_markdown(report(*(gate(f"g{i:03}", "pass") for i in range(120))), max_rows=50)
    assert sum(1 for line in text.splitlines() if line.startswith("| :")) == 50
    assert "and 70 more gates" in text
    assert len(text) < 60_000


def test_summary_is_appended_when_github_step_summary_is_set(tmp_path: Path) -> None:
    target = tmp_path / "step.md"
    target.write_text("earlier step\n")
    assert append_step_summary("### gates\n", {"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert target.read_text() == "earlier step\n### gates\n"
    assert append_step_summary("x", {}) is None
