"""Every rule on SQLite, PostgreSQL and MariaDB: exactly the seeded bad rows, then none once fixed.

The same rules file (tests/shop_rules.toml) runs unchanged on all three backends.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pytest_prodgate.data.names import Catalog
from pytest_prodgate.data.result import RuleResult
from pytest_prodgate.data.rules import make_rule
from pytest_prodgate.data.rulesfile import load_rules
from pytest_prodgate.data.runner import DataChecker, render_sql
from tests import data_shop

BACKENDS = ["sqlite", "postgresql", "mariadb"]
RULES = [entry.rule for entry in load_rules(data_shop.RULES_FILE)]


@pytest.fixture(params=BACKENDS)
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[sa.Engine, DataChecker]]:
    with data_shop.database(request.param, tmp_path) as url:
        engine = sa.create_engine(url)
        data_shop.seed_healthy(engine)
        checker = DataChecker(url, sample_size=10, statement_timeout=30)
        try:
            yield engine, checker
        finally:
            checker.close()
            engine.dispose()


def test_rules_file_covers_every_rule_type_when_loaded() -> None:
    assert {rule.kind for rule in RULES} == {
        "unique", "not_null", "relationship", "accepted_values", "range", "expression",
        "freshness", "no_future", "row_count", "reconcile", "sql",
    }  # fmt: skip
    assert [rule.id for rule in RULES] == list(data_shop.BAD_COUNTS)


def test_every_rule_passes_when_the_data_is_healthy(shop: tuple[sa.Engine, DataChecker]) -> None:
    _, checker = shop
    results = {rule.id: checker.run(rule) for rule in RULES}
    assert {rid: r.violations for rid, r in results.items()} == {rid: 0 for rid in results}
    assert all(r.passed for r in results.values()), [r.message() for r in results.values() if not r.passed]
    assert all(not r.sample for r in results.values())


def test_every_rule_finds_exactly_the_bad_rows_when_they_are_seeded(shop: tuple[sa.Engine, DataChecker]) -> None:
    engine, checker = shop
    data_shop.spoil(engine)
    results = {rule.id: checker.run(rule) for rule in RULES}
    assert {rid: r.violations for rid, r in results.items()} == data_shop.BAD_COUNTS
    keys = {rid: [row[0] for row in r.sample] for rid, r in results.items() if rid in data_shop.BAD_KEYS}
    assert keys == data_shop.BAD_KEYS
    failed = {rid for rid, r in results.items() if not r.passed}
    assert failed == {rid for rid, n in data_shop.BAD_COUNTS.items() if n}


def test_every_rule_finds_the_same_rows_when_the_database_has_no_window_functions(
    shop: tuple[sa.Engine, DataChecker], monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite before 3.25, MariaDB before 10.2 and MySQL before 8 have no count(*) OVER (): unique, relationship
    # and reconcile then count in one statement and select the sample in another, with the same results.
    engine, checker = shop
    data_shop.spoil(engine)
    windowed = {rule.id: checker.run(rule) for rule in RULES}
    monkeypatch.setattr(Catalog, "window_functions", property(lambda self: False))
    with engine.connect() as conn:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        plans = [rule.plan(Catalog(conn), now) for rule in RULES]
    assert [plan.sampled(1).rows for plan in plans if plan.sampled is not None] == [None] * sum(
        plan.sampled is not None for plan in plans
    )  # no plan counts with a window any more
    plain = {rule.id: checker.run(rule) for rule in RULES}
    assert {rid: r.violations for rid, r in plain.items()} == data_shop.BAD_COUNTS

    def shown(result: RuleResult) -> tuple[dict[str, float], list[str], list[tuple[object, ...]]]:
        figures = {k: v for k, v in result.figures.items() if k != "newest_age"}  # moves with the clock
        return figures, result.sample_columns, result.sample

    assert {rid: shown(r) for rid, r in plain.items()} == {rid: shown(r) for rid, r in windowed.items()}


ROW_RULES = ("accepted_values", "expression", "no_future", "not_null", "range")
ROWS_COUNTED = re.compile(r"\bAS [`\"]?rows\b", re.IGNORECASE)
TABLE_COUNTED = re.compile(r"SELECT count\(\*\) AS [`\"]?rows[`\"]?\s+FROM [`\"\w.]+\s*$", re.IGNORECASE)


def test_rows_and_rates_are_counted_only_when_a_threshold_reads_them(shop: tuple[sa.Engine, DataChecker]) -> None:
    # Counting every row of a big table costs as much as finding the bad ones: a rule with a rate counts
    # its table only when a threshold reads rows or the rate, and finds the same violations and sample.
    engine, checker = shop
    data_shop.spoil(engine)
    sent: list[str] = []
    sa.event.listen(checker.engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    with engine.connect() as conn:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        rated = [rule for rule in RULES if rule.plan(Catalog(conn), now).rows_when_read]
    assert sorted({rule.kind for rule in rated}) == [
        "accepted_values", "expression", "freshness", "no_future", "not_null", "range", "reconcile", "relationship",
        "unique",
    ]  # fmt: skip

    def seen(result: RuleResult) -> tuple[int, list[str], list[tuple[object, ...]]]:
        return result.violations, result.sample_columns, result.sample

    for rule in rated:
        sent.clear()
        lean = checker.run(rule)
        lean_sent, sent[:] = list(sent), []
        # (unique's surplus rows come with its violations, from the same window)
        assert (rule.id, sorted(set(lean.figures) - {"newest_age", "duplicate_rows"})) == (rule.id, ["violations"])
        read = checker.run(rule, thresholds=(*rule.effective_thresholds(), "rows >= 0"))
        assert {"rows", "violation_rate"} <= set(read.figures) or (rule.kind, sorted(read.figures)) == (
            "freshness",
            ["newest_age", "rows", "violations"],
        )
        # No statement of the lean run counts the table (relationship: beside its windowed anti-join; on
        # SQLite it counts in its one LEFT JOIN statement, as reconcile does in its one join).
        if rule.kind in (*ROW_RULES, "freshness") or (
            rule.kind == "relationship" and checker.engine.dialect.name != "sqlite"
        ):
            assert (rule.id, [s for s in lean_sent if ROWS_COUNTED.search(s)]) == (rule.id, [])
            assert any(ROWS_COUNTED.search(s) for s in sent)
        if rule.kind == "unique":  # its groups carry a count AS rows; the table's own count(*) is the one left out
            assert (rule.id, [s for s in lean_sent if TABLE_COUNTED.match(s)]) == (rule.id, [])
            assert any(TABLE_COUNTED.match(s) for s in sent)
            assert read.figures["duplicate_rate"] == read.figures["duplicate_rows"] / read.figures["rows"]
        assert (rule.id, seen(read)) == (rule.id, seen(lean))
        assert lean.violations == data_shop.BAD_COUNTS[rule.id]
        # Past the window's cap (a column gone wholly NULL), a count and a sample apart: the same result.
        checker.window_cap = 1
        try:
            assert (rule.id, seen(checker.run(rule))) == (rule.id, seen(lean))
        finally:
            checker.window_cap = DataChecker(engine).window_cap


def test_fixing_the_bad_rows_makes_every_rule_pass_again_when_rerun(shop: tuple[sa.Engine, DataChecker]) -> None:
    engine, checker = shop
    data_shop.spoil(engine)
    data_shop.fix(engine)
    results = [checker.run(rule) for rule in RULES]
    assert [r.id if hasattr(r, "id") else r.rule.id for r in results if not r.passed] == []


def test_failure_message_gives_count_sample_and_sql_when_orphans_exist(shop: tuple[sa.Engine, DataChecker]) -> None:
    engine, checker = shop
    data_shop.spoil(engine)
    result = checker.run(RULES[0])
    message = result.message()
    lines = message.splitlines()
    assert lines[0] == "orphans in order_items.order_id -> orders.id: violations = 3, wanted == 0"
    assert "sample (3 of 3 offending rows):" in lines
    assert [line.split() for line in lines if line.strip().startswith("900")] == [
        ["9001", "9001"], ["9002", "9002"], ["9003", "9003"],
    ]  # fmt: skip
    assert "SQL that finds them all" in message
    # The SQL shown finds every offending row when pasted into the database.
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(result.sql).fetchall()
    assert [row[0] for row in rows] == [9001, 9002, 9003]


def test_rates_and_tolerances_are_judged_in_base_units_when_thresholds_are_given(
    shop: tuple[sa.Engine, DataChecker],
) -> None:
    engine, checker = shop
    data_shop.spoil(engine)
    not_null_prices = RULES[2]
    result = checker.run(not_null_prices, thresholds=("violations <= 5", "null_rate < 20%"))
    assert result.passed
    assert result.figures["null_rate"] == pytest.approx(4 / 22)
    strict = checker.run(not_null_prices, thresholds=("null_rate < 0.1%",))
    assert not strict.passed
    assert strict.message().splitlines()[0] == "NULLs in products.price_cents: null_rate = 18.2 %, wanted < 0.1 %"


def test_sample_is_limited_to_n_rows_when_there_are_more_violations(shop: tuple[sa.Engine, DataChecker]) -> None:
    engine, checker = shop
    data_shop.spoil(engine)
    small = DataChecker(checker.engine, sample_size=2)
    result = small.run(RULES[2])
    assert result.violations == 4
    assert [row[0] for row in result.sample] == [4, 8]
    assert "sample (2 of 4 offending rows):" in result.message()


def test_shown_sql_runs_as_printed_when_the_rule_uses_percent_signs(shop: tuple[sa.Engine, DataChecker]) -> None:
    engine, checker = shop
    data_shop.spoil(engine)
    result = checker.run(RULES[-1])
    assert "NOT LIKE '%@%'" in result.sql
    with engine.connect() as conn:
        # exec_driver_sql passes no parameters, so the driver wants '%' doubled, exactly as a shell would not
        sql = result.sql.replace("%", "%%") if engine.dialect.paramstyle in ("format", "pyformat") else result.sql
        assert [row[0] for row in conn.exec_driver_sql(sql)] == [9]


def test_result_survives_pytest_xdist_transport_when_samples_hold_database_types(
    shop: tuple[sa.Engine, DataChecker],
) -> None:
    from execnet.gateway_base import dumps, loads

    engine, checker = shop
    data_shop.spoil(engine)
    for rule in RULES:
        record = checker.run(rule).to_dict()
        assert loads(dumps(record)) == record, rule.id


@pytest.mark.parametrize("sample_size", [1, 2])
def test_sample_is_the_first_rows_of_the_shown_sql_when_violations_outnumber_it(
    shop: tuple[sa.Engine, DataChecker], sample_size: int
) -> None:
    # On PostgreSQL unique, relationship and reconcile take the sample from the counting statement; it
    # must be what the reproducing query (ORDER BY key) lists first, columns, order and types alike.
    engine, checker = shop
    data_shop.spoil(engine)
    small = DataChecker(checker.engine, sample_size=sample_size)
    compared = []
    for rule in RULES:
        before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        result = small.run(rule)
        if not result.finds_rows or not result.violations:
            continue
        with engine.connect() as conn:
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
            # no_future's SQL holds the run's clock (to the second): one of the seconds the run spanned
            spanned = [before + dt.timedelta(seconds=s) for s in range(int((now - before).total_seconds()) + 1)]
            shown = {render_sql(rule.plan(Catalog(conn), moment).violating, conn.dialect) for moment in spanned}
            assert result.sql in shown, rule.id
            violating = rule.plan(Catalog(conn), now).violating
            assert violating is not None
            listed = conn.execute(violating)
            expected_columns = [str(name) for name in listed.keys()]
            expected = [tuple(row) for row in listed.fetchall()]
        assert len(expected) == (len(data_shop.BAD_KEYS.get(rule.id, ())) or result.violations), rule.id
        assert (result.sample_columns, result.sample) == (expected_columns, expected[:sample_size]), rule.id
        compared.append(rule.kind)
    assert {"unique", "relationship", "reconcile", "not_null", "no_future"} <= set(compared)


def test_nulls_are_never_violations_of_value_rules_when_the_column_holds_them(
    shop: tuple[sa.Engine, DataChecker],
) -> None:
    # The value rules leave NULLs to not_null; their SQL relies on a comparison with NULL being NULL, not on
    # a per-row IS NOT NULL (which costs SQLite a tenth of a scan).
    engine, checker = shop
    data_shop.spoil(engine)
    with engine.begin() as conn:
        conn.execute(data_shop.orders.update().where(data_shop.orders.c.id == 6).values(status=None))
    rules = {
        "accepted_values": make_rule("accepted_values", {"table": "orders", "column": "status",
                                                         "values": ["paid", "shipped", "delivered"]}),
        "range": make_rule("range", {"table": "products", "column": "price_cents", "min": 100, "max": 2000}),
        "expression": make_rule("expression", {"table": "products", "expression": "price_cents > -1000000"}),
    }  # fmt: skip
    found = {name: checker.run(rule).violations for name, rule in rules.items()}
    with engine.connect() as conn:
        nulls = [conn.execute(sa.select(sa.func.count()).where(c.is_(None))).scalar_one()
                 for c in (data_shop.orders.c.status, data_shop.products.c.price_cents)]  # fmt: skip
    assert (found, nulls) == ({"accepted_values": 1, "range": 1, "expression": 0}, [1, 4])


def test_unique_sample_keeps_first_and_last_key_when_duplicates_are_timestamps_or_pairs(
    shop: tuple[sa.Engine, DataChecker],
) -> None:
    # Off PostgreSQL the windowed pass groups without min/max of the key and looks the sampled groups up
    # again; the lookup must find them whatever the stored spelling (SQLite keeps '2024-01-01 10:00:00'
    # as written, not as SQLAlchemy formats a datetime) and for keys of several columns.
    engine, checker = shop
    stamps = {1: "2024-01-01 10:00:00", 2: "2024-01-01 10:00:00", 3: "2024-01-01 10:00:00"}
    stamps |= {4: "2024-01-04 00:00:00", 5: "2024-02-02 08:30:00", 6: "2024-01-06 00:00:00"}
    stamps |= {7: "2024-02-02 08:30:00", 8: "2024-03-03 00:00:00"}
    with engine.begin() as conn:
        for pid, stamp in stamps.items():
            conn.execute(sa.text("UPDATE products SET created_at = :s WHERE id = :i"), {"s": stamp, "i": pid})
        conn.execute(data_shop.orders.update().where(data_shop.orders.c.id.in_([3, 9])).values(customer_id=4))
        same = conn.execute(sa.select(data_shop.orders.c.created_at).where(data_shop.orders.c.id == 3)).scalar_one()
        conn.execute(data_shop.orders.update().where(data_shop.orders.c.id == 9).values(created_at=same))
    rules = {
        "stamps": make_rule("unique", {"table": "products", "column": "created_at", "key": "id", "where": "id <= 8"}),
        "pairs": make_rule("unique", {"table": "orders", "columns": ["customer_id", "created_at"], "key": "id"}),
    }
    got = {}
    for name, rule in rules.items():
        result = checker.run(rule)
        with engine.connect() as conn:
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
            plan = rule.plan(Catalog(conn), now)
            violating, sampled = plan.violating, plan.sampled
            assert violating is not None and sampled is not None
            if engine.dialect.name != "postgresql":
                # the pass over the table carries no min/max per group; only the lookup does
                scan = render_sql(sampled(10).count, conn.dialect).lower()
                assert ("min(" in scan, "min(" in render_sql(violating, conn.dialect).lower()) == (False, True)
            listed = conn.execute(violating)
            expected = ([str(c) for c in listed.keys()], [tuple(row) for row in listed.fetchall()])
        assert (result.sample_columns, result.sample) == expected, name
        got[name] = (result.violations, result.sample_columns, [row[1:] for row in result.sample])
    assert got["stamps"] == (2, ["created_at", "rows", "first_id", "last_id"], [(3, 1, 3), (2, 5, 7)])
    pairs = got["pairs"]
    assert pairs[:2] == (1, ["customer_id", "created_at", "rows", "first_id", "last_id"])
    assert [row[1:] for row in pairs[2]] == [(2, 3, 9)]


def test_relationship_sorts_after_counting_the_orphans_when_postgresql_plans_it(tmp_path: Path) -> None:
    # With the window, ORDER BY key and LIMIT on one level, PostgreSQL at 10M rows walked the key's index
    # into a nested-loop anti-join (5.8-6.7 s against 4.8 s for the hand-written hash anti-join), as if the
    # limit let it stop early; the window reads every orphan anyway. The window sits in a subquery, so the
    # plan counts the orphans first and sorts what it found: Sort above WindowAgg, whatever the size.
    with data_shop.database("postgresql", tmp_path) as url:
        engine = sa.create_engine(url)
        data_shop.seed_healthy(engine)
        data_shop.spoil(engine)
        rule = next(rule for rule in RULES if rule.kind == "relationship")
        with engine.connect() as conn:
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
            sampled = rule.plan(Catalog(conn), now).sampled
            assert sampled is not None
            statement = render_sql(sampled(10).count, conn.dialect)
            nodes = [
                row[0].strip().lstrip("-> ").split("  ")[0] for row in conn.exec_driver_sql("EXPLAIN " + statement)
            ]
        engine.dispose()
        with DataChecker(url, sample_size=10) as checker:
            result = checker.run(rule)
    planned = [n.split(" (")[0] for n in nodes if n.split(" (")[0] in ("Limit", "Sort", "WindowAgg")]
    assert planned == ["Limit", "Sort", "WindowAgg"], nodes
    assert [row[0] for row in result.sample] == data_shop.BAD_KEYS[rule.id]
