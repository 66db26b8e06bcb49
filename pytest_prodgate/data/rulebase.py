"""The base of every data rule: what it names, how it is judged, and the statements it plans.

``Plan.count`` returns one row of figures; ``Plan.violating`` selects the offending rows with their
key columns (the runner limits it to a sample and shows it in full as the SQL to reproduce).
``Plan.sampled`` takes the first ``n`` violations from the statement that counts them, so a rule whose
violations are expensive to find (a GROUP BY, a join) does not find them twice: either the counting
statement collects them (PostgreSQL ``(array_agg(key ORDER BY key) FILTER (WHERE <violation>))[1:n]``),
or the violating query, limited to ``n``, counts its whole result with ``count(*) OVER ()`` and a plain
``count(*)`` of the table gives ``rows`` (``windowed_sample``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import sqlalchemy as sa

from pytest_prodgate.data.names import Catalog

__all__ = [
    "ColumnsRule",
    "Figures",
    "Lean",
    "Plan",
    "Rule",
    "Sampled",
    "count_if",
    "counted_rows",
    "counting",
    "first_violations",
    "keyed_sample",
    "lean_counts",
    "sum_if",
    "windowed_sample",
    "violating_rows",
]

Figures = dict[str, float]


@dataclass
class Sampled:
    """The counting statement extended with arrays of the first ``n`` violations, in ``violating``'s order.

    ``arrays`` name the array columns (one per key column, or one per sample column). With ``fetch``
    the arrays hold keys and ``fetch(keys)`` selects those rows (a lookup by key, not a scan); without
    it the arrays are the sample itself, under the names ``columns``.

    With ``rows`` (``windowed_sample``) ``count`` is the violating query itself, limited to ``n``, each
    row ending with the window aggregates named ``totals`` (``violations`` first, ``count(*) OVER ()``);
    ``rows`` is the plain ``count(*)`` of the table.
    """

    count: Any
    arrays: list[str]
    columns: list[str] = field(default_factory=list)
    fetch: Callable[[list[tuple[Any, ...]]], sa.Select[Any]] | None = None
    rows: sa.Select[Any] | None = None
    totals: list[str] = field(default_factory=list)


@dataclass
class Lean:
    """A row rule's statements for a run whose thresholds read neither ``rows`` nor a rate.

    Only the offending rows are counted, never the table: ``count`` is ``SELECT count(*) AS violations
    ... WHERE <violation>``; ``first(n, cap)`` (None without window functions) is one pass that returns
    the first ``n`` violations in ``violating``'s order, each ending with ``count(*) OVER ()`` over at
    most ``cap`` of them. Below the cap that count is every violation; at the cap the runner counts
    with ``count`` and takes the sample apart (a column gone wholly NULL does not buffer millions of rows).
    """

    count: sa.Select[Any]
    first: Callable[[int, int], sa.Select[Any]] | None = None


@dataclass
class Plan:
    """The statements of one rule: one counting query, and the query of every offending row."""

    count: sa.Select[Any]
    violating: sa.Select[Any] | None = None
    derive: Callable[[Mapping[str, Any]], Figures] | None = None
    rate_name: str | None = None
    sampled: Callable[[int], Sampled] | None = None
    # Rows and the rate only when a threshold reads one of them (``rows``, ``rate_name``, ``violation_rate``):
    # counting every row of a 10M-row table costs as much as finding the offending ones.
    rows_when_read: bool = False
    rated: tuple[str, ...] = ()  # figures besides ``rows``, ``rate_name`` and ``violation_rate`` computed from rows
    lean: Lean | None = None
    count_lean: sa.Select[Any] | None = None  # ``count`` without ``rows``, where a rule has no ``Lean``


@dataclass(frozen=True)
class Rule:
    """What every rule has: a table, how its verdict is judged, and how it is named and shown."""

    table: str = ""
    thresholds: tuple[str, ...] = ()
    severity: str = "blocking"
    key: tuple[str, ...] = ()
    where: str | None = None
    name: str | None = None
    environments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    kind: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ("table",)

    @property
    def id(self) -> str:
        """A readable id (``order_items.order_id->orders.id``), unless the author gave a ``name``."""
        return self.name or self.default_id()

    def default_id(self) -> str:
        return f"{self.kind}({self.table})"

    def describe(self) -> str:
        return f"{self.kind} on {self.table}"

    def default_thresholds(self) -> tuple[str, ...]:
        return ("violations == 0",)

    def check_options(self) -> None:
        """Static checks of the options, before any database is touched (raise ``ConfigError``)."""

    def effective_thresholds(self) -> tuple[str, ...]:
        return self.thresholds or self.default_thresholds()

    def plan(self, catalog: Catalog, now: dt.datetime) -> Plan:
        raise NotImplementedError

    def _filter(self) -> Any:
        return sa.literal_column(f"({self.where})", sa.Boolean) if self.where else None


# Databases with the SQL:2003 aggregate FILTER clause; MariaDB/MySQL spell it SUM(CASE ...).
_HAS_FILTER = ("postgresql", "sqlite")


def count_if(dialect: str, predicate: Any) -> Any:
    """``count(*) FILTER (WHERE <predicate>)`` where the database has FILTER, else ``SUM(CASE ...)`` (0, never NULL)."""
    if dialect in _HAS_FILTER:
        return sa.func.count().filter(predicate)
    return sa.func.coalesce(sa.func.sum(sa.case((predicate, 1), else_=0)), 0)


def sum_if(dialect: str, value: Any, predicate: Any) -> Any:
    """``SUM(<value>) FILTER (WHERE <predicate>)``, 0 when no row matches."""
    if dialect in _HAS_FILTER:
        return sa.func.coalesce(sa.func.sum(value).filter(predicate), 0)
    return sa.func.coalesce(sa.func.sum(sa.case((predicate, value), else_=0)), 0)


def counting(dialect: str, from_: Any, predicate: Any, where: Any) -> sa.Select[Any]:
    """``SELECT count(*) AS rows, count(*) FILTER (WHERE <violation>) AS violations``: one scan for both."""
    statement = sa.select(sa.func.count().label("rows"), count_if(dialect, predicate).label("violations")).select_from(
        from_
    )
    return statement.where(where) if where is not None else statement


def first_violations(value: Any, predicate: Any, order: list[Any], n: int, name: str) -> Any:
    """``(array_agg(<value> ORDER BY <order>) FILTER (WHERE <predicate>))[1:n]`` (PostgreSQL): NULL without violations."""
    from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by

    collected = sa.func.array_agg(aggregate_order_by(value, *order)).filter(predicate)
    return sa.type_coerce(collected, ARRAY(value.type))[1:n].label(name)


def counted_rows(table: Any, where: Any) -> sa.Select[Any]:
    """``SELECT count(*) AS rows FROM <table> [WHERE <where>]``."""
    statement = sa.select(sa.func.count().label("rows")).select_from(table)
    return statement.where(where) if where is not None else statement


def windowed_sample(
    catalog: Catalog,
    violating: sa.Select[Any],
    table: Any,
    where: Any,
    *,
    fetch: Callable[[list[tuple[Any, ...]]], sa.Select[Any]] | None = None,
    ordered_by: int = 1,
    **totals: Any,
) -> Callable[[int], Sampled] | None:
    """``Plan.sampled`` where finding the violations is the expensive part (a join, a GROUP BY) and counting
    the table is cheap: the violating query, ``ORDER BY key LIMIT n``, also counts its whole result with
    ``count(*) OVER ()`` (and any other ``totals``, window aggregates over all its rows, by name), so the
    violations and the sample come from one pass; ``rows`` is a ``count(*)`` of the table alone.

    With ``fetch``, ``violating`` here is a lighter form of the rule's query (fewer aggregates) and the
    sample is ``fetch(rows it found)``: the full query narrowed to those rows. ``violating`` is ordered by its
    first ``ordered_by`` columns.

    None where the database has no window functions: the rule then counts, and selects the sample apart."""
    if not catalog.window_functions:
        return None
    rows = counted_rows(table, where)

    def sampled(n: int) -> Sampled:
        over = {"violations": sa.func.count().over(), **totals}
        labelled = [value.label(f"prodgate_{name}") for name, value in over.items()]
        if catalog.dialect == "postgresql":
            # The window in a subquery (PostgreSQL never flattens one), the order and limit outside: with
            # ORDER BY key LIMIT n on the same level the planner may walk the key's index into a nested-loop
            # anti-join, as if the limit let it stop early, though the window reads every row (relationship,
            # 10M rows: 5.8-6.7 s that way against 4.8 s for the hash anti-join of the hand-written query).
            inner = violating.order_by(None).add_columns(*labelled).subquery("violating")
            columns = list(inner.c)
            windowed = sa.select(*columns).order_by(*columns[:ordered_by])
        else:
            windowed = violating.add_columns(*labelled)
        return Sampled(count=windowed.limit(n), arrays=[], columns=[], fetch=fetch, rows=rows, totals=list(over))

    return sampled


def keyed_sample(
    count: sa.Select[Any],
    predicate: Any,
    keys: list[Any],
    violating: sa.Select[Any],
    narrow: Callable[[list[tuple[Any, ...]]], sa.Select[Any]] | None = None,
) -> Callable[[int], Sampled] | None:
    """``Plan.sampled`` for a row rule: the counting statement also collects the first ``n`` violating keys;
    the sample is then those rows by key (``violating`` narrowed to them). None without key columns."""
    if not keys:
        return None

    def sampled(n: int) -> Sampled:
        names = [f"sample_key_{i}" for i in range(len(keys))]
        arrays = [first_violations(key, predicate, keys, n, name) for key, name in zip(keys, names, strict=True)]

        def fetch(found: list[tuple[Any, ...]]) -> sa.Select[Any]:
            if narrow is not None:
                return narrow(found).limit(n)
            chosen = keys[0].in_([k[0] for k in found]) if len(keys) == 1 else sa.tuple_(*keys).in_(found)
            return violating.where(chosen).limit(n)

        return Sampled(count=count.add_columns(*arrays), arrays=names, fetch=fetch)

    return sampled


def lean_counts(
    catalog: Catalog, from_: Any, predicate: Any, where: Any, violating: sa.Select[Any], keys: list[Any]
) -> Lean:
    """``Plan.lean`` for a row rule whose ``violating`` query is ``violating_rows(from_, predicate, where, keys, ...)``
    (ordered by its first ``len(keys)`` columns, or its first column without keys)."""
    count = sa.select(sa.func.count().label("violations")).select_from(from_).where(predicate)
    if where is not None:
        count = count.where(where)
    if not catalog.window_functions:
        return Lean(count=count)

    def first(n: int, cap: int) -> sa.Select[Any]:
        # The cap sits under the window: without an order the database stops at the cap, and when it
        # does not reach it the capped rows are all the violations, so their first n are the sample.
        capped = violating.order_by(None).limit(cap).subquery("violating")
        counted = sa.select(*capped.c, sa.func.count().over().label("prodgate_violations"))
        return counted.order_by(*list(capped.c)[: max(1, len(keys))]).limit(n)

    return Lean(count=count, first=first)


def violating_rows(from_: Any, predicate: Any, where: Any, keys: list[Any], shown: list[Any]) -> sa.Select[Any]:
    columns = list(keys) + [c for c in shown if all(c is not k for k in keys)]
    statement = sa.select(*columns).select_from(from_).where(predicate)
    if where is not None:
        statement = statement.where(where)
    return statement.order_by(*(keys or columns[:1]))


@dataclass(frozen=True)
class ColumnsRule(Rule):
    """A rule over one or more columns of its table."""

    columns: tuple[str, ...] = ()
    required: ClassVar[tuple[str, ...]] = ("table", "columns")

    @property
    def column_text(self) -> str:
        return f"{self.table}.{','.join(self.columns)}"

    def default_id(self) -> str:
        return f"{self.kind}({self.column_text})"

    def _row_plan(self, catalog: Catalog, rate_name: str, violation: Callable[[list[Any]], Any]) -> Plan:
        table = catalog.table(self.table)
        cols = [catalog.column(table, c) for c in self.columns]
        keys = catalog.key_columns(table, self.key)
        predicate = violation(cols)
        where = self._filter()
        # Two statements here, the sample only with violations: on PostgreSQL 15 an array_agg in the count
        # would make it serial, and the serial scan costs more than the parallel count plus the sample
        # (10M rows: 1.5 s against 0.66 + 0.44 s); the sample, ``ORDER BY key LIMIT n``, often stops early.
        violating = violating_rows(table, predicate, where, keys, cols)
        return Plan(
            count=counting(catalog.dialect, table, predicate, where),
            violating=violating,
            rate_name=rate_name,
            rows_when_read=True,
            lean=lean_counts(catalog, table, predicate, where, violating, keys),
        )
