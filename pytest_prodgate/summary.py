"""The gate table printed at the end of a run (plain Python; fed with ``GateEntry`` values).

No reason is ever cut: a reason longer than the terminal is wide wraps under its own column (or,
when the columns before it leave too little room, on indented lines below the row).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from pytest_prodgate.families import FAMILIES
from pytest_prodgate.verdict import GateEntry, shown_reason

__all__ = ["gate_rows", "reason_of", "render_table"]


def reason_of(entry: GateEntry) -> str:
    """The whole reason shown for a gate (``verdict.shown_reason``)."""
    return shown_reason({"decided_by": entry.decided_by, "verdict": entry.verdict, "skip_allowed": entry.skip_allowed})


def gate_rows(entries: Iterable[GateEntry]) -> list[tuple[str, str, str, str]]:
    """Rows ``(family, gate, VERDICT, reason)`` grouped by family, in a stable order."""
    rank = {family: index for index, family in enumerate(FAMILIES)}
    ordered = sorted(entries, key=lambda e: (rank.get(e.family or "", len(rank)), e.family or "", e.nodeid))
    return [(e.family or "", e.name, e.verdict.upper(), reason_of(e)) for e in ordered]


def render_table(entries: Iterable[GateEntry], width: int = 0) -> list[str]:
    """The table's lines; ``width`` (the terminal's columns, 0 for unlimited) wraps long reasons."""
    rows = gate_rows(entries)
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    indent = sum(widths) + 2 * 3
    room = width - indent if width else 0
    lines = []
    previous = None
    for family, name, verdict, reason in rows:
        shown_family = family if family != previous else ""
        previous = family
        cells = "  ".join([shown_family.ljust(widths[0]), name.ljust(widths[1]), verdict.ljust(widths[2])])
        if not width or len(reason) <= room:
            lines.append(f"{cells}  {reason}".rstrip())
        elif room >= 30:
            wrapped = _wrap(reason, room)
            lines.append(f"{cells}  {wrapped[0]}")
            lines += [" " * indent + part for part in wrapped[1:]]
        else:
            lines.append(cells.rstrip())
            lines += ["    " + part for part in _wrap(reason, max(20, width - 4))]
    return lines


def _wrap(text: str, width: int) -> list[str]:
    parts = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
    return parts
