"""The base of every data rule: what it names, how it is judged, and the two statements it plans.

``Plan.count`` returns one row of figures; ``Plan.violating`` selects the offending rows with their
key columns (the runner limits it to a sample and shows it in full as the SQL to reproduce).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import sqlalchemy as sa

from pytest_prodgate.data.names import Catalog

__all__ = ["ColumnsRule", "Figures", "Plan", "Rule", "count_if", "counting", "sum_if", "violating_rows"]

Figures = dict[str, float]


@dataclass
class Plan:
    """The statements of one rule: one counting query, and the query of every offending row."""

    count: sa.Select[Any]
    violating: sa.Select[Any] | None = None
    derive: Callable[[Mapping[str, Any]], Figures] | None = None
    rate_name: str | None = None


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
        return Plan(
            count=counting(catalog.dialect, table, predicate, where),
            violating=violating_rows(table, predicate, where, keys, cols),
            rate_name=rate_name,
        )
