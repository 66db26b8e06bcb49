"""Run data rules in the database: one counting query (and the sample), under a statement timeout.

``DataChecker(url)`` owns a SQLAlchemy engine. ``run(rule)`` opens one read-only transaction, sets
the dialect's statement timeout (PostgreSQL ``SET LOCAL statement_timeout``, MariaDB/MySQL the session
``max_statement_time`` / ``max_execution_time``, SQLite a progress-handler deadline), reflects the
tables the rule names, counts the violations and fetches at most ``sample_size`` offending rows.
A rule with a rate counts its table's rows only when a threshold reads ``rows`` or a rate; without
them a row rule takes its violations and sample in one pass over the offending rows (``Lean``).
Where the rule plans ``sampled`` (``unique`` and ``reconcile`` everywhere, ``relationship`` but on
SQLite) one statement both counts the violations and returns the first of them (or their keys, then
those rows by key); elsewhere, with violations, a second statement selects them (``violating``
limited to the sample size).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pytest_prodgate.data.config import DEFAULT_SAMPLE_SIZE, DEFAULT_STATEMENT_TIMEOUT
from pytest_prodgate.data.heap import release_freed_heap
from pytest_prodgate.data.names import Catalog
from pytest_prodgate.data.query import StatementCheck
from pytest_prodgate.data.result import RuleResult
from pytest_prodgate.data.rulebase import Plan
from pytest_prodgate.data.rules import Rule
from pytest_prodgate.dsn import connection_failure, normalize_database_url
from pytest_prodgate.errors import ConfigError, RuleTimeout, TargetError
from pytest_prodgate.redact import mask_url
from pytest_prodgate.thresholds import parse_thresholds

__all__ = ["DEFAULT_SAMPLE_SIZE", "DEFAULT_STATEMENT_TIMEOUT", "DataChecker", "RuleTimeout", "render_sql"]

CONNECT_TIMEOUT = 10
# At most this many offending rows are counted by the one-pass window; past it, a count and a sample.
WINDOW_CAP = 10_000
# SQLite calls the progress handler every this many virtual-machine instructions.
_SQLITE_PROGRESS_STEPS = 20_000


def sqlite_sort_threads() -> int:
    """Helper threads SQLite may start to sort (``PRAGMA threads``): one per usable core beyond the one
    running the statement, at most 4. A ``GROUP BY`` without an index sorts every row, and SQLite's
    sorter splits that work across them (10M rows, 2 cores: ``unique``'s pass 2.8 s -> 2.3 s)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(4, usable - 1))


def _connect_args(url: sa.URL, timeout: float) -> dict[str, Any]:
    backend = url.get_backend_name()
    if backend == "postgresql":
        return {"connect_timeout": CONNECT_TIMEOUT}
    if backend in ("mysql", "mariadb"):
        # read_timeout bounds a lost server; the statement timeout ends slow queries before it.
        return {"connect_timeout": CONNECT_TIMEOUT, "read_timeout": int(timeout) + 30, "write_timeout": 30}
    if backend == "sqlite":
        return {"timeout": CONNECT_TIMEOUT}
    return {}


def _first_line(exc: BaseException) -> str:
    """The driver's own reason, first line, without SQLAlchemy's background link."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


def render_sql(statement: Any, dialect: sa.Dialect) -> str:
    """The statement as SQL a person can paste into the database's shell (values inlined when possible)."""
    try:
        text = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        if dialect.paramstyle in ("format", "pyformat"):
            # Drivers with %s placeholders get '%' doubled; a person's shell wants it as written.
            text = text.replace("%%", "%")
    except Exception:  # some literal types cannot be inlined; show the bound parameters instead
        compiled = statement.compile(dialect=dialect)
        text = f"{compiled}\n-- parameters: {compiled.params}"
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


class DataChecker:
    """Runs rules against one database; reuse it for many rules (it keeps a connection pool)."""

    def __init__(
        self,
        url: str | sa.URL | Engine,
        *,
        sample_size: int = DEFAULT_SAMPLE_SIZE,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
    ) -> None:
        if sample_size < 0:
            raise ConfigError(f"sample_size must be >= 0, got {sample_size}")
        if statement_timeout <= 0:
            raise ConfigError(f"statement_timeout must be > 0, got {statement_timeout}")
        self.sample_size = sample_size
        # A row rule's one-pass count stops buffering offending rows here (see ``Lean``).
        self.window_cap = WINDOW_CAP
        self.statement_timeout = float(statement_timeout)
        if isinstance(url, Engine):
            self.engine = url
            self._owns_engine = False
            self._written = url.url.render_as_string(hide_password=False)
        else:
            written = url.render_as_string(hide_password=False) if isinstance(url, sa.URL) else str(url)
            try:
                parsed = sa.make_url(normalize_database_url(written))
            except sa.exc.ArgumentError:
                raise ConfigError(
                    f"database URL {mask_url(written)!r} is not a SQLAlchemy URL "
                    "(e.g. sqlite:///shop.db, postgresql://user@host/db or mysql://user@host/db)"
                ) from None
            try:
                self.engine = sa.create_engine(parsed, connect_args=_connect_args(parsed, self.statement_timeout))
            except (ImportError, sa.exc.NoSuchModuleError) as exc:
                raise ConfigError(
                    f"no driver for {parsed.drivername!r}: {exc} (install pytest-prodgate[postgres] or [mysql])"
                ) from None
            self._owns_engine = True
            self._written = written
        # As the author wrote it (postgresql://, not the driver's scheme), password masked.
        self.url_text = mask_url(self._written)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> DataChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, rule: Rule, *, thresholds: tuple[str, ...] | None = None) -> RuleResult:
        """Count and sample the violations of ``rule``; judge them against its thresholds.

        A ``query`` or ``explain`` check (``pytest_prodgate.data.query``) times or explains its statement.
        """
        if isinstance(rule, StatementCheck):
            return rule.measure(self, thresholds)
        judged = tuple(thresholds if thresholds is not None else rule.effective_thresholds())
        read = {t.figure for t in parse_thresholds(list(judged), where=f"rule {rule.id!r} thresholds")}
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        started = time.monotonic()
        with self._session() as conn:
            catalog = Catalog(conn)
            plan = rule.plan(catalog, now)
            rated = {"rows", "violation_rate", *([plan.rate_name] if plan.rate_name else []), *plan.rated}
            lean = plan.rows_when_read and not (read & rated)
            columns: list[str] = []
            sample: list[tuple[Any, ...]] = []
            finder = plan.violating if plan.violating is not None else plan.count
            sql = render_sql(finder, conn.dialect)
            if lean and plan.lean is not None:
                violations, columns, sample = self._lean(conn, rule, plan)
                figures: dict[str, float] = {"violations": float(violations)}
            else:
                figures, columns, sample = self._counted(conn, rule, plan, count_rows=not lean)
        if self.engine.dialect.name == "sqlite":
            # SQLite sorted in this process; the allocator would keep its freed buffers (see ``heap``).
            release_freed_heap()
        if lean:
            # Nobody reads them, and a figure computed on one backend and not on another would only confuse.
            for name in rated:
                figures.pop(name, None)
        result = RuleResult(
            rule=rule,
            figures=figures,
            sample_columns=columns,
            sample=sample,
            sql=sql,
            database=self.url_text,
            finds_rows=plan.violating is not None,
            duration=time.monotonic() - started,
        )
        result.judge(judged)
        return result

    def _lean(self, conn: Connection, rule: Rule, plan: Plan) -> tuple[int, list[str], list[tuple[Any, ...]]]:
        """Violations and the sample of a row rule without counting the table's rows (``Plan.lean``)."""
        assert plan.lean is not None and plan.violating is not None
        n = self.sample_size
        if n and plan.lean.first is not None:
            windowed = self._execute(conn, rule, plan.lean.first(n, self.window_cap))
            names = [str.__str__(name) for name in windowed.keys()][:-1]
            listed = windowed.fetchall()
            violations = int(listed[0][-1]) if listed else 0
            if violations < self.window_cap:
                return violations, names, [tuple(row[:-1]) for row in listed]
        violations = int(self._execute(conn, rule, plan.lean.count).scalar_one())
        if not (n and violations):
            return violations, [], []
        columns, sample = self._sample(conn, rule, plan.violating.limit(n))
        return violations, columns, sample

    def _counted(
        self, conn: Connection, rule: Rule, plan: Plan, *, count_rows: bool
    ) -> tuple[dict[str, float], list[str], list[tuple[Any, ...]]]:
        """The figures of ``plan.count`` (or of its sampled form) and the sample."""
        sampled = plan.sampled(self.sample_size) if plan.sampled is not None and self.sample_size else None
        found: list[tuple[Any, ...]] = []
        counted: Mapping[Any, Any]
        if sampled is not None and sampled.rows is not None:
            # The first violations, each carrying the count of all of them; then the table's row count.
            windowed = self._execute(conn, rule, sampled.count)
            width = len(windowed.keys()) - len(sampled.totals)
            sampled.columns = [str.__str__(name) for name in windowed.keys()][:width]
            listed = windowed.fetchall()
            totals = listed[0][width:] if listed else [0] * len(sampled.totals)
            counted = dict(zip(sampled.totals, totals, strict=True))
            if count_rows:
                counted["rows"] = self._execute(conn, rule, sampled.rows).scalar_one()
            found = [tuple(row[:width]) for row in listed]
        elif sampled is not None:
            counted = self._execute(conn, rule, sampled.count).mappings().one()
            # The counting statement collected the first violations (keys or whole sample rows).
            found = list(zip(*(counted[name] or () for name in sampled.arrays), strict=True))
        else:
            count = plan.count_lean if plan.count_lean is not None and not count_rows else plan.count
            counted = self._execute(conn, rule, count).mappings().one()
        # violations first: with no threshold result to show, a summary shows the first figure
        figures: dict[str, float] = {
            k: float(counted[k]) for k in ("violations", "rows", "duplicate_rows") if k in counted
        }
        if plan.derive is not None:
            figures.update(plan.derive(dict(counted)))
        if plan.rate_name and "rows" in figures and "violations" in figures:
            rows = figures["rows"]
            figures[plan.rate_name] = figures["violations"] / rows if rows else 0.0
        if plan.violating is not None and "rows" in figures and "violations" in figures:
            figures.setdefault("violation_rate", figures["violations"] / figures["rows"] if figures["rows"] else 0.0)
        columns: list[str] = []
        sample: list[tuple[Any, ...]] = []
        if sampled is not None:
            if found and sampled.fetch is not None:
                columns, sample = self._sample(conn, rule, sampled.fetch(found))
            elif found:
                columns, sample = list(sampled.columns), found
        elif plan.violating is not None and self.sample_size and figures.get("violations", 0) > 0:
            columns, sample = self._sample(conn, rule, plan.violating.limit(self.sample_size))
        return figures, columns, sample

    def _sample(self, conn: Connection, rule: Rule, statement: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        fetched = self._execute(conn, rule, statement)
        # Plain str, not the dialect's quoted_name: results travel through pytest-xdist (execnet).
        columns = [str.__str__(name) for name in fetched.keys()]
        return columns, [tuple(row) for row in fetched.fetchmany(self.sample_size)]

    def execute(
        self, conn: Connection, rule: Rule, statement: Any, params: Mapping[str, Any] | None = None
    ) -> sa.CursorResult[Any]:
        """Run one statement of ``rule``; a database error becomes a ``RuleTimeout``, ``ConfigError`` or
        ``TargetError`` naming the rule, never the driver's traceback."""
        try:
            return conn.execute(statement, dict(params)) if params else conn.execute(statement)
        except sa.exc.DBAPIError as exc:
            raise self._explain(rule, exc) from None

    _execute = execute

    def session(self) -> AbstractContextManager[Connection]:
        """One read-only transaction under the statement timeout (rolled back and closed on exit)."""
        return self._session()

    def _explain(self, rule: Rule, exc: sa.exc.DBAPIError) -> Exception:
        text = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        lowered = text.lower()
        if (
            "statement timeout" in lowered
            or "max_statement_time" in lowered
            or "max_execution_time" in lowered
            or (lowered == "interrupted")
        ):
            return RuleTimeout(
                f"rule {rule.id!r}: the query ran past the statement timeout of {self.statement_timeout:g} s "
                "(raise [tool.prodgate.data] statement_timeout, or index the columns the rule reads)"
            )
        if "read only" in lowered or "read-only" in lowered or "readonly" in lowered:
            return ConfigError(f"rule {rule.id!r}: its query tried to write, and rules run read-only: {text}")
        syntax = ("syntax", "no such column", "does not exist", "unknown column", "no such function", "undefined")
        if isinstance(exc, sa.exc.ProgrammingError) or any(word in lowered for word in syntax):
            return ConfigError(f"rule {rule.id!r}: the database rejected its query: {text}")
        return TargetError(f"rule {rule.id!r}: database error on {self.url_text}: {text}")

    @contextmanager
    def _session(self, rule: Rule | None = None) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except (sa.exc.DBAPIError, OSError) as exc:
            # One paragraph (what was tried, what failed, the likely fix), never the driver's traceback.
            raise TargetError(connection_failure(self._written, _first_line(exc))) from None
        dialect = conn.dialect.name
        ms = max(1, int(self.statement_timeout * 1000))
        raw: Any = None
        try:
            if dialect == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
            elif dialect in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")  # applies from the next statement
                if conn.dialect._is_mariadb:  # type: ignore[attr-defined]
                    conn.exec_driver_sql(f"SET SESSION max_statement_time = {self.statement_timeout:.3f}")
                else:
                    conn.exec_driver_sql(f"SET SESSION max_execution_time = {ms}")
            elif dialect == "sqlite":
                raw = conn.connection.driver_connection
                deadline = time.monotonic() + self.statement_timeout
                raw.set_progress_handler(lambda: int(time.monotonic() > deadline), _SQLITE_PROGRESS_STEPS)
                threads_before = conn.exec_driver_sql("PRAGMA threads").scalar()
                conn.exec_driver_sql(f"PRAGMA threads = {sqlite_sort_threads()}")
                conn.exec_driver_sql("PRAGMA query_only = 1")
            yield conn
        finally:
            try:
                conn.rollback()
                if dialect in ("mysql", "mariadb"):
                    variable = "max_statement_time" if conn.dialect._is_mariadb else "max_execution_time"  # type: ignore[attr-defined]
                    conn.exec_driver_sql(f"SET SESSION {variable} = DEFAULT")
                    conn.exec_driver_sql("SET SESSION TRANSACTION READ WRITE")
                elif dialect == "sqlite" and raw is not None:
                    raw.set_progress_handler(None, 0)
                    conn.exec_driver_sql("PRAGMA query_only = 0")
                    conn.exec_driver_sql(f"PRAGMA threads = {int(threads_before or 0)}")
                    conn.rollback()
            finally:
                conn.close()


def summarize(results: Mapping[str, RuleResult]) -> dict[str, Any]:
    """A JSON-friendly summary of several results (for the CLI and reports)."""
    return {rule_id: result.to_dict() for rule_id, result in results.items()}
