"""The Markdown summary (``--prodgate-markdown PATH``): a compact table a pull-request comment can hold.

Failures first, then errors, warnings and passes; long runs are cut at ``max_rows`` with a count of
what was left out. With a baseline, a second table shows each judged figure against it (``▲ +241%``),
regressions first. When ``$GITHUB_STEP_SUMMARY`` is set, the same text is appended to that file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_prodgate.report.deltas import figure_changes
from pytest_prodgate.verdict import shown_reason

__all__ = ["append_step_summary", "render_markdown"]

ORDER = {"fail": 0, "error": 1, "skip": 2, "warning": 3, "pass": 4}
ICONS = {
    "fail": ":x:",
    "error": ":boom:",
    "skip": ":fast_forward:",
    "warning": ":warning:",
    "pass": ":white_check_mark:",
}
MARKER = "<!-- pytest-prodgate gate summary -->"
# A GitHub comment holds 65,536 characters; stay well under it.
MAX_CHARS = 60_000


def _cell(text: Any, limit: int | None = 120) -> str:
    """One table cell: a single line, pipes escaped, cut at ``limit`` (``None``: never cut, for reasons)."""
    value = " ".join(str(text if text is not None else "").split())
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return value.replace("|", "\\|")


def _headline(report: Mapping[str, Any]) -> str:
    summary = report.get("summary", {})
    passed = bool(summary.get("passed", not summary.get("blocking_failures")))
    verdict = "**Gates passed**" if passed else "**Gates did not pass**"
    counts = ", ".join(f"{summary.get(v, 0)} {v}" for v in ORDER if summary.get(v))
    text = f"{ICONS['pass'] if passed else ICONS['fail']} {verdict}: {counts or 'no gates ran'}"
    if summary.get("reason"):
        text += f" — {summary['reason']}"
    return text


def render_markdown(report: Mapping[str, Any], *, max_rows: int = 50) -> str:
    """The summary text for a gate report dict (as ``jsonreport.build_report`` makes it)."""
    run = report.get("run", {})
    gates = sorted(
        report.get("gates", []),
        key=lambda g: (ORDER.get(g.get("verdict"), len(ORDER)), g.get("family") or "", g.get("nodeid", "")),
    )
    lines = [MARKER, "### pytest-prodgate", "", _headline(report), ""]
    where = [f"`{_cell(run[key], 80)}`" for key in ("environment", "base_url") if run.get(key)]
    if run.get("git_commit"):
        where.append(f"commit `{str(run['git_commit'])[:12]}`")
    if where:
        lines += ["Target: " + ", ".join(where), ""]
    if gates:
        lines += ["| | Gate | Family | Severity | Deciding figure or reason |", "|---|---|---|---|---|"]
        for gate in gates[:max_rows]:
            verdict = gate.get("verdict", "")
            lines.append(
                f"| {ICONS.get(verdict, '')} {verdict.upper()} | `{_cell(gate.get('name'), 80)}` | "
                f"{_cell(gate.get('family'))} | {_cell(gate.get('severity'))} | {_cell(shown_reason(gate), None)} |"
            )
        if len(gates) > max_rows:
            lines.append(f"\n…and {len(gates) - max_rows} more gates (see the HTML or JSON report)")
    lines += _changes(gates, max_rows)
    failing = [g for g in gates if g.get("verdict") in ("fail", "error")]
    if failing:
        lines += ["", "<details><summary>Failure messages</summary>", ""]
        for gate in failing[:max_rows]:
            message = str(gate.get("message") or "").strip()
            lines += [
                f"**{_cell(gate.get('nodeid'), 200)}**",
                "",
                "```",
                message[:1500].replace("```", "'''"),
                "```",
                "",
            ]
        lines.append("</details>")
    text = "\n".join(lines).rstrip() + "\n"
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 80].rsplit("\n", 1)[0] + "\n\n…cut to fit a pull-request comment\n"
    return text


def _changes(gates: list[dict[str, Any]], max_rows: int) -> list[str]:
    """The table of figures against the baseline; nothing when the run had none."""
    with_baseline = [g for g in gates if g.get("baseline")]
    if not with_baseline:
        return []
    source = next((g["baseline"].get("source") for g in with_baseline if g["baseline"].get("source")), "")
    lines = ["", f"#### Against the baseline `{_cell(source, 80)}`", ""]
    changes = figure_changes(with_baseline)
    if changes:
        regressions = sum(1 for c in changes if c.regression)
        lines += [
            f"{regressions} of {len(changes)} figures worse (▲/▼: change from the baseline; worse first)",
            "",
            "| | Gate | Figure | Baseline | Now | Change |",
            "|---|---|---|---|---|---|",
        ]
        for change in changes[:max_rows]:
            mark = ":red_circle: worse" if change.regression else ""
            lines.append(
                f"| {mark} | `{_cell(change.gate, 80)}` | {_cell(change.figure)} | {change.shown(change.baseline)} | "
                f"{change.shown(change.measured)} | **{change.arrow}** |"
            )
        if len(changes) > max_rows:
            lines.append(f"\n…and {len(changes) - max_rows} more figures (see the HTML or JSON report)")
    unmatched = [g for g in with_baseline if g["baseline"].get("absent")]
    if unmatched:
        names = ", ".join(f"`{_cell(g.get('name'), 80)}`" for g in unmatched[:max_rows])
        lines += ["", f"Not in the baseline ({len(unmatched)}): {names}"]
    return lines


def append_step_summary(text: str, env: Mapping[str, str] | None = None) -> Path | None:
    """Append ``text`` to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions set it; return the path written."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return path
