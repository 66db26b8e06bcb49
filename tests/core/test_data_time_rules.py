"""Timestamps in their many spellings: SQLite text, PostgreSQL with and without time zone, MariaDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pytest_prodgate.data.names import Catalog
from pytest_prodgate.data.rules import make_rule
from pytest_prodgate.data.runner import DataChecker, render_sql
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


def _utc_spellings(bound: dt.datetime) -> list[str]:
    """UTC text around ``bound`` (naive, whole second) in every spelling ``utc_text`` admits: space or ``T``,
    no fraction or 1-7 digits, no suffix, ``Z`` or ``+00:00``; a date alone. Equal to the bound, a microsecond
    either side, seconds, hours (on the bound's date and not) and days away."""
    steps = [dt.timedelta(**step) for step in (
        {}, {"milliseconds": 1}, {"milliseconds": -1}, {"milliseconds": 500}, {"seconds": 1}, {"seconds": -1},
        {"hours": 5}, {"hours": -5}, {"hours": 13}, {"hours": -13}, {"days": 1}, {"days": -1}, {"days": -40},
    )]  # fmt: skip
    stamps = []
    for step in steps:
        moment = bound + step
        for separator in (" ", "T"):
            whole = moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S")
            fraction = f"{moment.microsecond:06d}"
            for digits in ("", ".0", "." + fraction[:3], "." + fraction, "." + fraction + "0"):
                if digits and int(digits[1:] or 0) * 10 ** (8 - len(digits)) != moment.microsecond * 10:
                    continue  # a spelling that would round the moment
                if not digits and moment.microsecond:
                    continue
                for suffix in ("", "Z", "+00:00"):
                    stamps.append(whole + digits + suffix)
        stamps.append(moment.strftime("%Y-%m-%d"))
    return stamps


@pytest.mark.parametrize(
    "bound",
    [
        dt.datetime(2026, 12, 4, 17, 0, 0),
        dt.datetime(2026, 12, 4, 9, 30, 15, 500000),
        dt.datetime(2026, 12, 31, 23, 59, 59, 999000),
    ],
    ids=["whole-second", "half-second", "last-millisecond-of-the-year"],
)
def test_utc_text_compares_text_and_judges_as_the_julian_days_when_sqlite_holds_utc_in_any_spelling(
    tmp_path: Path, bound: dt.datetime
) -> None:
    stamps = _utc_spellings(bound)
    truth = {i for i, s in enumerate(stamps, start=1) if _utc_naive_reference(s) > bound}
    url = f"sqlite:///{tmp_path / 'events.db'}"
    _events(url, sa.Text(), stamps)
    engine = sa.create_engine(url)
    found = {}
    with engine.connect() as conn:
        for utc_text in (False, True):
            rule = make_rule("no_future", {"table": "events", "column": "at", "utc_text": utc_text})
            plan = rule.plan(Catalog(conn), bound)
            assert plan.violating is not None
            found[utc_text] = {row[0] for row in conn.execute(plan.violating)}
            shown = render_sql(plan.violating, conn.dialect)
            assert ("julianday(" in shown) is not utc_text, shown
    engine.dispose()
    assert len(stamps) > 250 and 0 < len(truth) < len(stamps)
    missed = {stamps[i - 1] for i in truth - found[True]}
    wrong = {stamps[i - 1] for i in found[True] - truth}
    assert (missed, wrong) == (set(), set())
    assert found[False] == truth


def _utc_naive_reference(text: str) -> dt.datetime:
    """What the text means, read by Python alone (7 fraction digits cut to 6)."""
    if "." in text:
        head, rest = text.split(".", 1)
        digits = "".join(c for c in rest if c.isdigit())
        text = head + "." + (digits + "000000")[:6] + rest[len(digits) :]
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (
        moment.replace(tzinfo=None)
        if moment.tzinfo is None
        else moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    )


@pytest.mark.parametrize("separator", [" ", "T"])
def test_utc_text_freshness_reads_the_newest_text_when_sqlite_holds_utc_in_one_spelling(
    tmp_path: Path, now: dt.datetime, separator: str
) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    naive = now.replace(tzinfo=None)
    spelled = [(naive - dt.timedelta(hours=h, milliseconds=250)).isoformat(sep=separator) + "Z" for h in (30, 2, 9)]
    _events(url, sa.Text(), spelled)
    with DataChecker(url) as checker:
        results = [
            checker.run(make_rule("freshness", {"table": "events", "column": "at", "max_age": "1h", "utc_text": u}))
            for u in (False, True)
        ]
    exact, text = (r.figures["newest_age"] for r in results)
    assert exact == pytest.approx(2 * 3600, abs=120) and text == pytest.approx(exact, abs=5)
    assert [r.passed for r in results] == [False, False]
    assert "julianday" not in results[1].sql and "max(events.at)" in results[1].sql, results[1].sql
