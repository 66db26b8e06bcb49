"""Key queries as gates: their latency against a budget, and their plan against full scans of large tables.

Plain Python (never imports pytest), run by ``DataChecker.run`` like any rule::

    checker.run(QueryLatency(sql="SELECT * FROM orders WHERE customer_id = :c", params={"c": 42},
                             runs=50, thresholds=("p95 < 50ms",)))
    checker.run(QueryPlan(sql="SELECT * FROM orders WHERE customer_id = 42", large_tables=("orders",)))

``QueryLatency`` runs the statement ``runs`` times (after one unmeasured warm-up), each in its own
read-only transaction under the statement timeout, and records ``p50``, ``p95``, ``max``, ``min``,
``mean`` (seconds) and ``runs``. The loop is bounded in count and in time (``max_time``).

``QueryPlan`` asks the database for the statement's plan (PostgreSQL ``EXPLAIN (FORMAT JSON)``,
MariaDB/MySQL ``EXPLAIN FORMAT=JSON``, SQLite ``EXPLAIN QUERY PLAN``) and counts the full scans of
large tables (``full_scans``, judged ``full_scans == 0`` unless told otherwise). A table is large
when ``large_tables`` names it, or when it holds at least ``min_rows`` rows; with neither, every
full scan counts. Each full scan is named with its table and plan node.
"""

from __future__ import annotations

import difflib
import itertools
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from pytest_prodgate.data.result import RuleResult
from pytest_prodgate.data.rulebase import Rule
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.thresholds import parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Connection

    from pytest_prodgate.data.runner import DataChecker

__all__ = ["CHECK_TYPES", "DEFAULT_RUNS", "FullScan", "QueryLatency", "QueryPlan", "make_check", "percentile"]

DEFAULT_RUNS = 50
DEFAULT_MAX_TIME = 60.0
_SHORT_SQL = 60
_FRESH = itertools.count(1)


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``samples``, linearly interpolated between the closest ranks."""
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= _SHORT_SQL else text[: _SHORT_SQL - 3] + "..."


@dataclass(frozen=True)
class StatementCheck(Rule):
    """A check of one SQL statement (not of a table's rows): run by ``DataChecker.run`` through ``measure``."""

    sql: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    required: ClassVar[tuple[str, ...]] = ("sql",)

    def default_id(self) -> str:
        return f"{self.kind}({_short(self.sql)})"

    def statement(self) -> sa.TextClause:
        return sa.text(self.sql)

    def measure(self, checker: DataChecker, thresholds: tuple[str, ...] | None) -> RuleResult:
        raise NotImplementedError


@dataclass(frozen=True)
class QueryLatency(StatementCheck):
    """A key query's latency: p50/p95/max of ``runs`` executions against the real database."""

    runs: int = DEFAULT_RUNS
    max_time: float | str = DEFAULT_MAX_TIME
    kind: ClassVar[str] = "query"

    def describe(self) -> str:
        return f"latency of {_short(self.sql)}"

    def default_thresholds(self) -> tuple[str, ...]:
        return ()

    def check_options(self) -> None:
        if not isinstance(self.runs, int) or isinstance(self.runs, bool) or self.runs < 1:
            raise ConfigError(f"runs must be a whole number >= 1, got {self.runs!r}")
        parse_duration(self.max_time, what="max_time")

    def measure(self, checker: DataChecker, thresholds: tuple[str, ...] | None) -> RuleResult:
        started = time.monotonic()
        deadline = started + parse_duration(self.max_time, what="max_time")
        timings: list[float] = []
        rows = 0
        for attempt in range(self.runs + 1):  # attempt 0 warms caches and the pool; it is not measured
            with checker.session() as conn:
                began = time.perf_counter()
                rows = len(checker.execute(conn, self, self.statement(), self.params).fetchall())
                elapsed = time.perf_counter() - began
            if attempt:
                timings.append(elapsed)
            if attempt and time.monotonic() > deadline:  # at least one measured run
                break
        figures = {
            "p50": percentile(timings, 50),
            "p95": percentile(timings, 95),
            "max": max(timings, default=0.0),
            "min": min(timings, default=0.0),
            "mean": sum(timings) / len(timings) if timings else 0.0,
            "runs": float(len(timings)),
            "rows": float(rows),
        }
        notes = [f"{len(timings)} runs of {self.runs}" + (" (stopped at max_time)" if len(timings) < self.runs else "")]
        result = RuleResult(
            rule=self,
            figures=figures,
            sql=self.sql.strip() + _params_line(self.params),
            database=checker.url_text,
            finds_rows=False,
            duration=time.monotonic() - started,
            notes=notes,
        )
        result.judge(thresholds if thresholds is not None else self.effective_thresholds())
        return result


@dataclass
class FullScan:
    """One full scan in a plan: the table, the plan node as the database names it, the table's rows."""

    table: str
    node: str
    rows: int | None = None

    def __str__(self) -> str:
        counted = f", {self.rows} rows" if self.rows is not None else ""
        return f"table {self.table} ({self.node}{counted})"


@dataclass(frozen=True)
class QueryPlan(StatementCheck):
    """A key query's plan has no full scan of a large table (judged ``full_scans == 0``)."""

    large_tables: tuple[str, ...] = ()
    min_rows: int | None = None
    kind: ClassVar[str] = "explain"

    def describe(self) -> str:
        return f"plan of {_short(self.sql)}"

    def default_thresholds(self) -> tuple[str, ...]:
        return ("full_scans == 0",)

    def check_options(self) -> None:
        if self.min_rows is not None and (
            not isinstance(self.min_rows, int) or isinstance(self.min_rows, bool) or self.min_rows < 0
        ):
            raise ConfigError(f"min_rows must be a whole number >= 0, got {self.min_rows!r}")

    def measure(self, checker: DataChecker, thresholds: tuple[str, ...] | None) -> RuleResult:
        started = time.monotonic()
        with checker.session() as conn:
            explain, scans = _plan(conn, checker, self)
            large = [scan for scan in scans if self._is_large(conn, checker, scan)]
        figures = {"full_scans": float(len(large)), "scans": float(len(scans))}
        notes = [f"full scan of a large table: {scan}" for scan in large]
        smaller = [scan for scan in scans if scan not in large]
        notes += [f"full scan of a small table (allowed): {scan}" for scan in smaller]
        result = RuleResult(
            rule=self,
            figures=figures,
            sql=explain + _params_line(self.params),
            database=checker.url_text,
            finds_rows=False,
            duration=time.monotonic() - started,
            notes=notes or ["no full scan in the plan"],
        )
        result.judge(thresholds if thresholds is not None else self.effective_thresholds())
        return result

    def _is_large(self, conn: Connection, checker: DataChecker, scan: FullScan) -> bool:
        named = {name.rsplit(".", 1)[-1].strip('"`').lower() for name in self.large_tables}
        if scan.table.lower() in named:
            return True
        if self.min_rows is None:
            return not named  # no table named and no size given: every full scan counts
        count = checker.execute(conn, self, sa.select(sa.func.count()).select_from(sa.table(scan.table)))
        rows = int(count.scalar_one())
        scan.rows = rows
        return rows >= self.min_rows


def _params_line(params: Mapping[str, Any]) -> str:
    return f"\n-- parameters: {dict(params)}" if params else ""


def _plan(conn: Connection, checker: DataChecker, check: QueryPlan) -> tuple[str, list[FullScan]]:
    """The EXPLAIN statement run (as text) and the full scans the plan holds."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        explain = f"EXPLAIN (FORMAT JSON) {check.sql.strip()}"
        raw = checker.execute(conn, check, sa.text(explain), check.params).scalar_one()
        document = json.loads(raw) if isinstance(raw, str) else raw
        return explain, list(_postgres_scans(document))
    if dialect in ("mysql", "mariadb"):
        explain = f"EXPLAIN FORMAT=JSON {check.sql.strip()}"
        raw = checker.execute(conn, check, sa.text(explain), check.params).scalar_one()
        return explain, list(_mysql_scans(json.loads(raw)))
    if dialect == "sqlite":
        explain = f"EXPLAIN QUERY PLAN {check.sql.strip()}"
        # SQLite plans an EXPLAIN with the schema its connection last read, and Python's sqlite3 reuses a
        # prepared EXPLAIN as is: read the schema, and prepare a statement never seen, so that an index
        # another connection created since (a migration during the run) is in the plan.
        checker.execute(conn, check, sa.text("SELECT count(*) FROM sqlite_master"))
        fresh = f"EXPLAIN QUERY PLAN /* prodgate {next(_FRESH)} */ {check.sql.strip()}"
        rows = checker.execute(conn, check, sa.text(fresh), check.params).fetchall()
        return explain, [scan for row in rows if (scan := _sqlite_scan(str(row[-1]))) is not None]
    raise ConfigError(f"{check.kind} checks know PostgreSQL, MariaDB/MySQL and SQLite plans, not {dialect}'s")


def _postgres_scans(node: Any) -> Iterator[FullScan]:
    if isinstance(node, list):
        for item in node:
            yield from _postgres_scans(item)
    elif isinstance(node, dict):
        kind = str(node.get("Node Type", ""))
        if kind == "Seq Scan" and node.get("Relation Name"):
            parallel = "Parallel " if node.get("Parallel Aware") else ""
            yield FullScan(str(node["Relation Name"]), f"{parallel}Seq Scan")
        for key, value in node.items():
            if key in ("Plan", "Plans") or isinstance(value, (list, dict)):
                yield from _postgres_scans(value)


def _mysql_scans(node: Any) -> Iterator[FullScan]:
    if isinstance(node, list):
        for item in node:
            yield from _mysql_scans(item)
    elif isinstance(node, dict):
        if "table_name" in node and node.get("access_type") == "ALL":
            yield FullScan(str(node["table_name"]), "access_type ALL (full table scan)")
        for value in node.values():
            if isinstance(value, (list, dict)):
                yield from _mysql_scans(value)


def _sqlite_scan(detail: str) -> FullScan | None:
    """``SCAN orders`` (or ``SCAN TABLE orders`` before SQLite 3.36) is a full scan; ``SEARCH`` is not."""
    words = detail.split()
    if len(words) < 2 or words[0] != "SCAN":
        return None
    table = words[2] if words[1] == "TABLE" and len(words) > 2 else words[1]
    if table.upper() in ("SUBQUERY", "CONSTANT"):  # "SCAN CONSTANT ROW", "SCAN SUBQUERY 1": no table
        return None
    return FullScan(table, detail)


CHECK_TYPES: dict[str, type[StatementCheck]] = {"query": QueryLatency, "explain": QueryPlan}


def make_check(kind: str, options: Mapping[str, Any]) -> StatementCheck:
    """A ``query`` or ``explain`` check from its options (a rules file entry, or the ``data`` fixture)."""
    cls = CHECK_TYPES[kind]
    allowed = [f.name for f in cls.__dataclass_fields__.values() if f.name not in ("table", "key", "where")]
    values = dict(options)
    for key in values:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            more = f"did you mean {hint[0]!r}?" if hint else "known keys: " + ", ".join(sorted(allowed))
            raise ConfigError(f"unknown key {key!r} for a {kind} check ({more})")
    if not isinstance(values.get("sql"), str) or not values["sql"].strip():
        raise ConfigError(f"a {kind} check needs 'sql' (the statement to {'time' if kind == 'query' else 'explain'})")
    if not isinstance(values.get("params", {}), Mapping):
        raise ConfigError(f"params must be a table of name = value (for :name in the SQL), got {values['params']!r}")
    for key in ("thresholds", "large_tables"):
        if key in values:
            item = values[key]
            values[key] = tuple([item] if isinstance(item, str) else item)
    if values.get("severity", "blocking") not in ("blocking", "warning"):
        raise ConfigError(f"severity {values['severity']!r} is not 'blocking' or 'warning'")
    check = cls(**values)
    check.check_options()
    return check
