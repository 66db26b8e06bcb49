"""Timestamps in their many spellings: SQLite text, PostgreSQL with and without time zone, MariaDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pytest_prodgate.data.rules import make_rule
from pytest_prodgate.data.runner import DataChecker
from pytest_prodgate.thresholds import Verdict
from tests import data_shop


@pytest.fixture
def now() -> dt.datetime:
    """The time a test's rows are stamped relative to: taken when the test starts, not at import,
    so the ages the rules measure (from their own clock, moments later) match within seconds."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with data_shop.database(request.param, tmp_path) as database_url:
        yield database_url


def _events(url: str, column_type: sa.types.TypeEngine[object], stamps: list[object]) -> None:
    engine = sa.create_engine(url)
    events = sa.Table(
        "events", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", column_type)
    )
    events.metadata.create_all(engine)
    if stamps:
        with engine.begin() as conn:
            conn.execute(events.insert(), [{"id": i, "at": s} for i, s in enumerate(stamps, start=1)])
    engine.dispose()


def test_future_and_stale_timestamps_are_found_when_stored_as_naive_utc(url: str, now: dt.datetime) -> None:
    naive = now.replace(tzinfo=None)
    _events(
        url, sa.DateTime(), [naive - dt.timedelta(days=3), naive + dt.timedelta(hours=2), naive - dt.timedelta(days=2)]
    )
    with DataChecker(url) as checker:
        future = checker.run(make_rule("no_future", {"table": "events", "column": "at", "tolerance": "5m"}))
        assert (future.violations, [row[0] for row in future.sample]) == (1, [2])
        lenient = checker.run(make_rule("no_future", {"table": "events", "column": "at", "tolerance": "3h"}))
        assert lenient.violations == 0
        fresh = checker.run(make_rule("freshness", {"table": "events", "column": "at", "max_age": "1h"}))
        assert fresh.passed  # the newest is in the future: fresh, and no_future's business
        stale = checker.run(
            make_rule("freshness", {"table": "events", "column": "at", "max_age": "1d", "where": "id <> 2"})
        )
        assert stale.figures["newest_age"] == pytest.approx(2 * 86400, abs=120)
        assert (
            stale.message().splitlines()[0].startswith("stale data in events.at (newest older than 1d): newest_age = 2")
        )


def test_timestamps_with_time_zone_are_compared_in_utc_when_postgresql_stores_them(
    tmp_path: Path, now: dt.datetime
) -> None:
    with data_shop.database("postgresql", tmp_path) as url:
        _check_time_zones(url, now)


def _check_time_zones(url: str, now: dt.datetime) -> None:
    berlin = dt.timezone(dt.timedelta(hours=2))
    _events(
        url,
        sa.DateTime(timezone=True),
        [(now + dt.timedelta(minutes=30)).astimezone(berlin), now - dt.timedelta(hours=1)],
    )
    with DataChecker(url) as checker:
        assert (
            checker.run(make_rule("no_future", {"table": "events", "column": "at", "tolerance": "5m"})).violations == 1
        )
        fresh = checker.run(
            make_rule("freshness", {"table": "events", "column": "at", "max_age": "2h", "where": "id = 2"})
        )
        assert fresh.figures["newest_age"] == pytest.approx(3600, abs=120)


def test_text_timestamps_in_iso_spellings_are_normalised_when_sqlite_stores_them(
    tmp_path: Path, now: dt.datetime
) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    future = (now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    past = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    _events(url, sa.Text(), [past, future, (now - dt.timedelta(days=9)).isoformat()])
    with DataChecker(url) as checker:
        found = checker.run(make_rule("no_future", {"table": "events", "column": "at"}))
        assert [row[0] for row in found.sample] == [2]


def test_freshness_is_an_error_verdict_when_the_table_is_empty(url: str) -> None:
    _events(url, sa.DateTime(), [])
    with DataChecker(url) as checker:
        result = checker.run(make_rule("freshness", {"table": "events", "column": "at", "max_age": "1d"}))
    assert result.verdict is Verdict.ERROR
    assert result.figures["violations"] == 1
    assert "newest_age = nan" in result.message()


def _spelled(moment: dt.datetime, hours: int) -> str:
    """``moment`` (UTC) as local text at UTC``+hours``, ISO 'T' spelling with its offset."""
    local = moment + dt.timedelta(hours=hours)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{'+' if hours >= 0 else '-'}{abs(hours):02d}:00"


def test_offsets_decide_in_utc_when_sqlite_text_reads_otherwise(tmp_path: Path, now: dt.datetime) -> None:
    # Text order is not time order once offsets differ: each rule judges the UTC moment.
    url = f"sqlite:///{tmp_path / 'events.db'}"
    _events(url, sa.Text(), [
        _spelled(now + dt.timedelta(hours=3), -8),   # 1: reads 5 h ago, is 3 h ahead: future
        _spelled(now - dt.timedelta(hours=5), 14),   # 2: reads 9 h ahead, was 5 h ago
        (now - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),  # 3: an hour ago, plain
        (now + dt.timedelta(days=2)).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z",  # 4: future, fraction
    ])  # fmt: skip
    with DataChecker(url) as checker:
        future = checker.run(make_rule("no_future", {"table": "events", "column": "at"}))
        assert [row[0] for row in future.sample] == [1, 4]
        fresh = checker.run(make_rule("freshness", {"table": "events", "column": "at", "max_age": "1d",
                                                    "where": "id <> 1 AND id <> 4"}))  # fmt: skip
        assert fresh.passed and fresh.figures["newest_age"] == pytest.approx(3600, abs=120)
