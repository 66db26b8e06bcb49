"""What a data rule found: its figures, the verdict against its thresholds, a sample, the SQL.

The failure message reads::

    orphans in order_items.order_id -> orders.id: violations = 3, wanted == 0

      figure      measured  wanted  verdict
      violations  3         == 0    FAIL

    sample (3 of 3 offending rows):
      id      order_id
      900001  900001
      ...

    SQL that finds them all (sqlite):
      SELECT ...
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_prodgate.errors import GateFailed
from pytest_prodgate.gate import format_results, overall_verdict
from pytest_prodgate.thresholds import ThresholdResult, Verdict, parse_thresholds

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.data.rules import Rule

__all__ = ["RuleResult", "format_sample"]

_CELL_WIDTH = 40


@dataclass
class RuleResult:
    """One rule run: figures in base units, the judged thresholds, at most N offending rows and the SQL."""

    rule: Rule
    figures: dict[str, float]
    sample_columns: list[str] = field(default_factory=list)
    sample: list[tuple[Any, ...]] = field(default_factory=list)
    sql: str = ""
    database: str = ""
    duration: float = 0.0
    finds_rows: bool = True
    results: list[ThresholdResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a query or plan check found, one line each

    @property
    def violations(self) -> int:
        return int(self.figures.get("violations", 0))

    @property
    def verdict(self) -> Verdict:
        return overall_verdict(self.results) if self.results else Verdict.PASS

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def judge(self, thresholds: Sequence[str]) -> list[ThresholdResult]:
        parsed = parse_thresholds(list(thresholds), where=f"rule {self.rule.id!r} thresholds")
        self.results = [t.judge(self.figures) for t in parsed]
        return self.results

    def message(self) -> str:
        """The headline, the threshold table, the sample and the SQL that finds every offending row."""
        missed = [r for r in self.results if not r.passed] or self.results
        headline = f"{self.rule.describe()}: " + "; ".join(r.message for r in missed)
        table = format_results(self.results).split("\n", 1)[1] if self.results else ""
        lines = [headline, table.rstrip("\n")] if table else [headline]
        if self.notes:
            lines += [""] + ["  " + note for note in self.notes]
        if self.sample:
            total = self.violations
            of = f" of {total}" if total else ""
            noun = "row" if max(total, len(self.sample)) == 1 else "rows"
            lines += ["", f"sample ({len(self.sample)}{of} offending {noun}):"]
            lines += ["  " + line for line in format_sample(self.sample_columns, self.sample)]
        what = "SQL that finds them all" if self.finds_rows else "SQL"
        lines += ["", f"{what} ({self.database.split(':', 1)[0].split('+', 1)[0]}):"]
        lines += ["  " + line for line in self.sql.splitlines()]
        return "\n".join(lines)

    def check(self) -> RuleResult:
        """Raise ``GateFailed`` with the full message unless every threshold passed."""
        __tracebackhide__ = True
        if not self.passed:
            raise GateFailed(self.message(), self.results)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "type": self.rule.kind,
            "table": self.rule.table,
            "figures": dict(self.figures),
            "verdict": self.verdict.value,
            "thresholds": [r.to_dict() for r in self.results],
            "sample_columns": [str.__str__(name) for name in self.sample_columns],
            "sample": [[_json_cell(v) for v in row] for row in self.sample],
            "sql": self.sql,
            "duration": self.duration,
            **({"notes": list(self.notes)} if self.notes else {}),
        }


def _json_cell(value: Any) -> Any:
    """A sample value as plain JSON-able Python (exact types: reports travel through pytest-xdist)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    for plain in (bool, int, float, str):  # subclasses (a dialect's quoted_name, numpy-like ints)
        if isinstance(value, plain):
            return plain(value) if plain is not str else str.__str__(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    text = str(_json_cell(value))
    return text if len(text) <= _CELL_WIDTH else text[: _CELL_WIDTH - 3] + "..."


def format_sample(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Rows as a left-aligned text table under their column names."""
    table = [list(columns)] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
