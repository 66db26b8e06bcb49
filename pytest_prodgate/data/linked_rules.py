"""Rules across tables, and free SQL: relationship (orphans), reconcile (stored aggregates), sql.

Like every rule they only plan statements; the runner executes them inside the database.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa

from pytest_prodgate.data.names import Catalog, check_fragment, check_query
from pytest_prodgate.data.rulebase import (
    ColumnsRule,
    Plan,
    Rule,
    count_if,
    counting,
    keyed_sample,
    violating_rows,
    windowed_sample,
)
from pytest_prodgate.errors import ConfigError

__all__ = ["AGGREGATES", "Reconcile", "Relationship", "Sql"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


AGGREGATES: dict[str, Any] = {
    "sum": sa.func.sum,
    "count": sa.func.count,
    "min": sa.func.min,
    "max": sa.func.max,
    "avg": sa.func.avg,
}


@dataclass(frozen=True)
class Reconcile(ColumnsRule):
    """A stored aggregate equals the one recomputed from child rows (NULL stored values are not judged).

    ``orders.total_cents == SUM(order_items.quantity * unit_price_cents)`` is
    ``table="orders", column="total_cents", child="order_items.order_id", of="quantity * unit_price_cents"``.
    """

    child: str = ""
    aggregate: str = "sum"
    of: str = ""
    parent_key: str = ""
    tolerance: float = 0
    kind: ClassVar[str] = "reconcile"
    required: ClassVar[tuple[str, ...]] = ("table", "columns", "child")

    @property
    def formula(self) -> str:
        """``SUM(order_items.quantity)`` for a column, ``SUM(quantity * price) of order_items`` for an expression."""
        child_table = self.child.rsplit(".", 1)[0]
        of = " ".join(str(self.of).split())
        if not of or _NAME.fullmatch(of):
            return f"{self.aggregate.upper()}({child_table}.{of or '*'})"
        return f"{self.aggregate.upper()}({of}) of {child_table}"

    def default_id(self) -> str:
        return f"{self.column_text}=={self.formula}"

    def describe(self) -> str:
        return f"wrong {self.column_text} against {self.formula}"

    def check_options(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise ConfigError(f"aggregate {self.aggregate!r} is not one of {', '.join(AGGREGATES)}")
        if not isinstance(self.child, str) or "." not in self.child:
            raise ConfigError(f"child {self.child!r} must be 'table.column' (the child rows' key to the parent)")
        if not self.of and self.aggregate != "count":
            raise ConfigError(f"aggregate {self.aggregate!r} needs 'of' (a child column or expression)")
        if self.of:
            check_fragment(self.of, "of")
        if isinstance(self.tolerance, bool) or not isinstance(self.tolerance, (int, float)) or self.tolerance < 0:
            raise ConfigError(f"tolerance {self.tolerance!r} must be a number >= 0")

    def plan(self, catalog: Catalog, now: dt.datetime) -> Plan:
        table = catalog.table(self.table)
        stored = catalog.column(table, self.columns[0])
        if self.parent_key:
            parent_key = catalog.column(table, self.parent_key, "parent_key")
        elif len(table.primary_key.columns) == 1:
            parent_key = next(iter(table.primary_key.columns))
        else:
            parent_key = catalog.column(table, "id", "parent_key (none given, no single-column primary key)")
        child_name, child_column = self.child.rsplit(".", 1)
        child_table = catalog.table(child_name, "child table")
        link = catalog.column(child_table, child_column, "child column")
        if not self.of:
            value: Any = None
        elif self.of in child_table.c:
            value = child_table.c[self.of]
        else:
            value = sa.literal_column(f"({check_fragment(self.of, f'rule {self.id!r}: of')})")
        aggregate = AGGREGATES[self.aggregate]
        recomputed_value = aggregate() if value is None and self.aggregate == "count" else aggregate(value)
        grouped = sa.select(link.label("parent"), recomputed_value.label("recomputed")).group_by(link)
        where = self._filter()

        def compared(sums: Any) -> tuple[Any, Any, Any]:
            joined = table.outerjoin(sums, parent_key == sums.c.parent)
            recomputed = sa.func.coalesce(sums.c.recomputed, 0)
            differs = stored != recomputed if not self.tolerance else sa.func.abs(stored - recomputed) > self.tolerance
            return joined, sa.and_(stored.isnot(None), differs), recomputed

        joined, predicate, recomputed = compared(grouped.subquery("recomputed"))
        counted_from, counted_predicate, _ = joined, predicate, recomputed
        if catalog.dialect == "postgresql":
            # A parallel plan would rebuild the child aggregate once per worker (a non-parallel Hash under a
            # parallel join); a materialized CTE keeps the count to one aggregate, as the hand-written query.
            counted_from, counted_predicate, _ = compared(grouped.cte("recomputed").prefix_with("MATERIALIZED"))
        keys = catalog.key_columns(table, self.key) or [parent_key]

        def violating_in(joined: Any, predicate: Any, recomputed: Any) -> sa.Select[Any]:
            shown = [stored, recomputed.label("recomputed"), (stored - recomputed).label("difference")]
            return violating_rows(joined, predicate, where, keys, shown)

        def narrow(found: list[tuple[Any, ...]]) -> sa.Select[Any]:
            # The sample's parents only: the child aggregate over their rows alone, not the whole child table.
            chosen = [k[0] for k in found]
            return violating_in(*compared(grouped.where(link.in_(chosen)).subquery("recomputed"))).where(
                parent_key.in_(chosen)
            )

        count = counting(catalog.dialect, counted_from, counted_predicate, where)
        violating = violating_in(joined, predicate, recomputed)
        sampled = None
        if catalog.dialect == "postgresql":
            # With array_agg on top the plan is serial, so the plain subquery (the hand-written join) serves:
            # 10M rows, 15.5-17.0 s against 17.1-17.4 s with the materialized CTE.
            narrowed = narrow if keys == [parent_key] else None
            plain = counting(catalog.dialect, joined, predicate, where)
            sampled = keyed_sample(plain, predicate, keys, violating, narrowed)
        else:
            # SQLite and MariaDB have no ordered aggregate: the violating query itself, the first n by key
            # with count(*) OVER () for the violations (one child aggregate and join, as by hand), plus a
            # count(*) of the parent table alone. SQLite, 10M rows: 11.3 + 0.2 s against 12.1 s by hand; a
            # MATERIALIZED CTE read for both took 14.3 s.
            sampled = windowed_sample(catalog, violating, table, where)
        return Plan(count=count, violating=violating, rate_name="mismatch_rate", sampled=sampled, rows_when_read=True)


@dataclass(frozen=True)
class Relationship(ColumnsRule):
    """Every non-NULL value of the child column exists in the parent column ``to`` (``table.column``)."""

    to: str = ""
    kind: ClassVar[str] = "relationship"
    required: ClassVar[tuple[str, ...]] = ("table", "columns", "to")

    def default_id(self) -> str:
        return f"{self.column_text}->{self.to}"

    def describe(self) -> str:
        return f"orphans in {self.column_text} -> {self.to}"

    def check_options(self) -> None:
        if not isinstance(self.to, str) or "." not in self.to:
            raise ConfigError(f"'to' must be 'table.column' (the parent's key), got {self.to!r}")

    def plan(self, catalog: Catalog, now: dt.datetime) -> Plan:
        table = catalog.table(self.table)
        child = catalog.column(table, self.columns[0])
        parent_name, parent_column = self.to.rsplit(".", 1)
        parent_table = catalog.table(parent_name, "parent table")
        parent = catalog.column(parent_table, parent_column, "parent column")
        where = self._filter()
        keys = catalog.key_columns(table, self.key)
        # The offending rows: NOT EXISTS, which the planners run as an anti-join (PostgreSQL a hash anti
        # join, MariaDB and SQLite a key lookup per child row). It never multiplies child rows.
        lookup = parent_table.alias("parents") if parent_table is table else parent_table
        orphan = sa.and_(child.isnot(None), ~sa.exists().where(lookup.c[parent.name] == child))
        # The figures in one pass over the child: a LEFT JOIN to the parent keys counts rows and orphans
        # together (a subquery of the key alone, so a ``where`` on the child's columns stays unambiguous;
        # DISTINCT only when the database does not already guarantee the key unique).
        parents = sa.select(parent.label("key"))
        if not catalog.is_unique(parent_table, parent):
            parents = parents.distinct()
        keys_of_parents = parents.subquery("parents")
        joined = table.outerjoin(keys_of_parents, child == keys_of_parents.c.key)
        missing = keys_of_parents.c.key
        counted = sa.select(
            sa.func.count().label("rows"),
            count_if(catalog.dialect, sa.and_(child.isnot(None), missing.is_(None))).label("violations"),
        ).select_from(joined)
        if where is not None:
            counted = counted.where(where)
        violating = violating_rows(table, orphan, where, keys, [child])
        sampled = None
        if catalog.dialect in ("postgresql", "mysql", "mariadb"):
            # One anti-join for the violations and the sample (count(*) OVER () on the orphans, the first n
            # by key), plus a count(*) of the child alone: PostgreSQL, 10M rows, 100 orphans: one join
            # instead of the LEFT JOIN count and the anti-join for the sample (6.50 s against 3.44 s by hand).
            sampled = windowed_sample(catalog, violating, table, where, ordered_by=max(1, len(keys)))
        return Plan(count=counted, violating=violating, rate_name="orphan_rate", sampled=sampled, rows_when_read=True)


@dataclass(frozen=True)
class Sql(Rule):
    """A query that returns the violating rows; its row count is the number of violations."""

    sql: str = ""
    kind: ClassVar[str] = "sql"
    required: ClassVar[tuple[str, ...]] = ("sql",)

    def default_id(self) -> str:
        return "sql: " + " ".join(self.sql.split())[:60]

    def check_options(self) -> None:
        check_query(self.sql)

    def describe(self) -> str:
        return f"rows returned by {self.name or 'the sql rule'}"

    def plan(self, catalog: Catalog, now: dt.datetime) -> Plan:
        query = check_query(self.sql, f"rule {self.id!r}: sql")
        returned = sa.text(query).columns().subquery("violating")
        count = sa.select(sa.func.count().label("violations")).select_from(returned)
        if self.table:
            table = catalog.table(self.table)
            total = sa.select(sa.func.count()).select_from(table).scalar_subquery()
            count = count.add_columns(total.label("rows"))
        return Plan(count=count, violating=sa.select(sa.text("*")).select_from(returned), rate_name="violation_rate")
