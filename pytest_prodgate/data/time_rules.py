"""The time rules, ``freshness`` and ``no_future``: the newest timestamp, and timestamps after now.

PostgreSQL and MariaDB compare the column with a parameter. SQLite has no timestamp type: the column
holds text, and apps write it in several ISO spellings (``2026-12-04 17:00:00``, ``...T17:00:00.123``,
``...+05:30``, ``...Z``). Text order is time order only while the offsets agree, so by default these
rules read the rows that text order cannot settle as Julian days (UTC), exact for every spelling and
offset. ``utc_text = true`` declares that the column's text is UTC (no offset, ``Z`` or ``+00:00``),
as Django and SQLAlchemy write it: the rules then compare text alone, as a hand-written query does,
with no function on the column (an index serves them; a scan costs what the hand-written one costs).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa

from pytest_prodgate.data.names import Catalog
from pytest_prodgate.data.rulebase import ColumnsRule, Figures, Plan
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.thresholds import parse_duration

__all__ = ["Freshness", "NoFuture"]


def _utc_naive(value: Any) -> dt.datetime | None:
    """A timestamp from the database as naive UTC (text in SQLite, datetime elsewhere)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise ConfigError(f"{value!r} is not a timestamp")
    moment: dt.datetime = value
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def _sqlite_text(moment: dt.datetime, separator: str = " ", suffix: str = "") -> Any:
    return sa.literal(moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + suffix, sa.Text())


# A text timestamp with a UTC offset reads at most this far from its UTC moment (offsets span -12h..+14h).
_LARGEST_OFFSET = dt.timedelta(hours=14)


def _after_utc_text(col: Any, moment: dt.datetime) -> Any:
    """``col > moment`` for SQLite text in UTC, by text comparisons alone, exact to the microsecond for
    either ISO separator, any number of fraction digits, no suffix, ``Z`` or ``+00:00``.

    ``col >= 'D HH:MM:SS.ffffff'``, with the first microsecond after the moment, settles every row but
    two kinds. A ``T`` sorts after a space, so the bound's own date written with ``T`` is judged against
    ``'DTHH:MM:SS.ffffff'``. ``Z`` sorts after the digits, so the moment itself written with fewer than six
    fraction digits and a ``Z`` (``...:00Z``, ``...:00.0Z``, ``...:00.50Z``) is excluded by name; every other
    spelling of the moment sorts before the bound (``+`` and the end of the text before ``.``, and zeros
    before the ``1`` that ends the bound). Past rows fail the first comparison: one comparison per row.
    """
    later = moment + dt.timedelta(microseconds=1)
    digits = f"{moment.microsecond:06d}".rstrip("0")
    # The bound's date in T spelling, up to the bound (all of it when the next microsecond is the next day).
    same_day_end = (
        later.strftime("%Y-%m-%dT%H:%M:%S.%f") if later.date() == moment.date() else moment.strftime("%Y-%m-%dU")
    )
    equal_with_z = [
        moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + (f".{digits.ljust(width, '0')}" if width else "") + "Z"
        for separator in (" ", "T")
        for width in range(len(digits), 6)
    ]
    return sa.and_(
        col >= sa.literal(later.strftime("%Y-%m-%d %H:%M:%S.%f"), sa.Text()),
        sa.not_(
            sa.and_(
                col > sa.literal(moment.strftime("%Y-%m-%dT"), sa.Text()),
                col < sa.literal(same_day_end, sa.Text()),
            )
        ),
        col.notin_([sa.literal(text, sa.Text()) for text in equal_with_z]),
    )


@dataclass(frozen=True)
class TimeRule(ColumnsRule):
    """A rule over one timestamp column; ``utc_text`` declares SQLite text in UTC (see the module)."""

    utc_text: bool = False

    def check_options(self) -> None:
        if not isinstance(self.utc_text, bool):
            raise ConfigError(f"utc_text must be true or false, got {self.utc_text!r}")

    def _text_order(self, catalog: Catalog) -> bool:
        """Whether text comparison is time order here: SQLite with ``utc_text``."""
        return catalog.dialect == "sqlite" and self.utc_text

    def _after(self, catalog: Catalog, col: Any, moment: dt.datetime) -> Any:
        """``col > moment`` with the bound computed once, so an index on the column can serve it.

        PostgreSQL and MariaDB compare the column itself with a parameter; so does SQLite with
        ``utc_text``. Otherwise SQLite text in any ISO spelling sorts by its date and local time, so
        ``col >= <moment - 14 h>`` (text, no function on the column) keeps every row that can be later;
        only those rows are read as a Julian day (UTC), compared with the bound read the same way.
        """
        if self._text_order(catalog):
            return _after_utc_text(col, moment)
        if catalog.dialect == "sqlite":
            earliest = _sqlite_text(moment - _LARGEST_OFFSET)
            return sa.and_(
                col >= earliest,
                sa.func.julianday(col) > sa.func.julianday(_sqlite_text(moment, " ", moment.strftime(".%f"))),
            )
        if getattr(col.type, "timezone", False):
            return col > sa.literal(moment.replace(tzinfo=dt.timezone.utc), sa.DateTime(timezone=True))
        return col > sa.literal(moment, sa.DateTime())

    def _newest(self, catalog: Catalog, col: Any) -> Any:
        """``max(col)``. SQLite keeps timestamps as text in several ISO spellings and offsets: unless
        ``utc_text``, each row is read as a Julian day (UTC; a number, no text formatted per row, about a
        third cheaper than ``datetime()``) and only the newest is written back as text. With ``utc_text``
        the newest text is the newest moment while the column keeps one separator (``T`` sorts after a
        space on the same day)."""
        if catalog.dialect == "sqlite" and not self._text_order(catalog):
            return sa.func.datetime(sa.func.max(sa.func.julianday(col)))
        return sa.func.max(col)


@dataclass(frozen=True)
class Freshness(TimeRule):
    """The newest timestamp in the column is not older than ``max_age``."""

    max_age: str = ""
    kind: ClassVar[str] = "freshness"
    required: ClassVar[tuple[str, ...]] = ("table", "columns", "max_age")

    def describe(self) -> str:
        return f"stale data in {self.column_text} (newest older than {self.max_age})"

    def default_thresholds(self) -> tuple[str, ...]:
        return (f"newest_age <= {self.max_age}",)

    def plan(self, catalog: Catalog, now: dt.datetime) -> Plan:
        table = catalog.table(self.table)
        col = catalog.column(table, self.columns[0])
        limit = parse_duration(self.max_age, what=f"rule {self.id!r} max_age")
        found = sa.select(self._newest(catalog, col).label("newest")).select_from(table)
        where = self._filter()
        if where is not None:
            found = found.where(where)
        count = found.add_columns(sa.func.count().label("rows"))

        def derive(row: Mapping[str, Any]) -> Figures:
            newest = _utc_naive(row["newest"])
            age = math.nan if newest is None else (now - newest).total_seconds()
            stale = newest is None or age > limit
            return {"newest_age": age, "violations": 1.0 if stale else 0.0}

        return Plan(count=count, violating=None, derive=derive, rows_when_read=True, count_lean=found)


@dataclass(frozen=True)
class NoFuture(TimeRule):
    """No timestamp in the column lies after now plus ``tolerance``."""

    tolerance: str = "0s"
    kind: ClassVar[str] = "no_future"

    def describe(self) -> str:
        return f"future timestamps in {self.column_text} (after now + {self.tolerance})"

    def plan(self, catalog: Catalog, now: dt.datetime) -> Plan:
        cutoff = now + dt.timedelta(seconds=parse_duration(self.tolerance, what=f"rule {self.id!r} tolerance"))
        return self._row_plan(catalog, "future_rate", lambda cols: self._after(catalog, cols[0], cutoff))
