"""The gate summary table printed at the end of a run (plain Python; fed with report entries)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pytest_prodgate.gate import FAMILIES

VERDICT_ORDER = ("fail", "error", "warning", "pass")


def gate_rows(entries: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, str]]:
    """Rows ``(family, gate, VERDICT, deciding figure)`` grouped by family, in a stable order."""
    rank = {family: index for index, family in enumerate(FAMILIES)}
    ordered = sorted(entries, key=lambda e: (rank.get(e["family"], len(rank)), e["family"], e["nodeid"]))
    return [(e["family"], e["name"], e["verdict"].upper(), e.get("decided_by", "")) for e in ordered]


def render_table(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    rows = gate_rows(entries)
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    previous = None
    for family, name, verdict, figure in rows:
        shown_family = family if family != previous else ""
        previous = family
        cells = [shown_family.ljust(widths[0]), name.ljust(widths[1]), verdict.ljust(widths[2]), figure]
        lines.append("  ".join(cells).rstrip())
    return lines


def count_verdicts(entries: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["verdict"]] = counts.get(entry["verdict"], 0) + 1
    return {v: counts[v] for v in VERDICT_ORDER if v in counts}
