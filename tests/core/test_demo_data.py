"""The bad-data fault: exactly the documented problems, counted with our own SQL, and none when healthy."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_prodgate.demo import BAD_DATA, BAD_DATA_QUERIES, DemoService
from pytest_prodgate.demo.db import create_database
from pytest_prodgate.demo.faults import (
    BAD_ROW_ID_BASE,
    DUPLICATE_SKU_ROWS_INVOLVED,
    DUPLICATE_SKU_SURPLUS_ROWS,
    apply_bad_data,
    count_bad_data,
)

# Written independently of BAD_DATA_QUERIES, so the documented semantics are checked twice.
PROBLEMS = {
    "orphan_order_items": "SELECT COUNT(*) FROM order_items WHERE order_id NOT IN (SELECT id FROM orders)",
    "duplicate_skus": "SELECT COUNT(DISTINCT a.sku) FROM products AS a JOIN products AS b ON a.sku = b.sku AND a.id < b.id",
    "null_prices": "SELECT COUNT(*) FROM products WHERE price_cents IS NULL",
    "null_emails": "SELECT COUNT(*) FROM customers WHERE email IS NULL",
    "wrong_order_totals": "SELECT COUNT(*) FROM orders JOIN (SELECT order_id, SUM(quantity * unit_price_cents) AS s "
    "FROM order_items GROUP BY order_id) AS t ON t.order_id = orders.id WHERE total_cents <> t.s",
    "future_orders": "SELECT COUNT(*) FROM orders WHERE julianday(created_at) > julianday('now')",
    "negative_quantities": "SELECT COUNT(*) FROM order_items WHERE quantity <= 0",
}


def _count(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        return {name: conn.execute(sql).fetchone()[0] for name, sql in PROBLEMS.items()}


@pytest.fixture(scope="module")
def bad() -> Iterator[DemoService]:
    with DemoService.start(faults=["bad-data"], env={"PRODGATE_DEMO_FAULTS": ""}) as service:
        yield service


@pytest.fixture(scope="module")
def healthy() -> Iterator[DemoService]:
    with DemoService.start(env={"PRODGATE_DEMO_FAULTS": ""}) as service:
        yield service


def test_each_problem_has_its_documented_count_when_bad_data_is_on(bad: DemoService) -> None:
    assert _count(bad.db_path) == BAD_DATA


def test_no_problem_is_found_when_healthy(healthy: DemoService) -> None:
    assert _count(healthy.db_path) == dict.fromkeys(BAD_DATA, 0)


def test_documented_queries_agree_when_run_on_both_databases(bad: DemoService, healthy: DemoService) -> None:
    for service, expected in ((bad, BAD_DATA), (healthy, dict.fromkeys(BAD_DATA, 0))):
        with sqlite3.connect(f"file:{service.db_path}?mode=ro", uri=True) as conn:
            assert count_bad_data(conn) == expected
    assert set(BAD_DATA_QUERIES) == set(BAD_DATA)


def test_duplicate_skus_count_values_surplus_and_rows_when_bad_data_is_on(bad: DemoService) -> None:
    with sqlite3.connect(f"file:{bad.db_path}?mode=ro", uri=True) as conn:
        surplus = conn.execute("SELECT COUNT(*) - COUNT(DISTINCT sku) FROM products").fetchone()[0]
        involved = conn.execute(
            "SELECT COUNT(*) FROM products WHERE sku IN (SELECT sku FROM products GROUP BY sku HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        skus = conn.execute("SELECT sku FROM products WHERE id >= ? ORDER BY id", (BAD_ROW_ID_BASE,)).fetchall()
    assert (surplus, involved) == (DUPLICATE_SKU_SURPLUS_ROWS, DUPLICATE_SKU_ROWS_INVOLVED)
    assert skus == [("SKU-00001",), ("SKU-00002",)]


def test_the_documented_rows_carry_the_problems_when_bad_data_is_on(bad: DemoService) -> None:
    with sqlite3.connect(f"file:{bad.db_path}?mode=ro", uri=True) as conn:

        def ids(sql: str) -> list[int]:
            return [row[0] for row in conn.execute(sql)]

        assert ids("SELECT id FROM products WHERE price_cents IS NULL ORDER BY id") == [10, 20, 30, 40]
        assert ids("SELECT id FROM customers WHERE email IS NULL ORDER BY id") == [5, 15]
        assert ids("SELECT id FROM order_items WHERE quantity < 0 ORDER BY id") == [900004, 900005]
        assert ids("SELECT order_id FROM order_items WHERE quantity < 0 ORDER BY id") == [100, 200]
        assert ids("SELECT id FROM orders WHERE created_at > datetime('now')") == [150]
        assert ids("SELECT id FROM order_items WHERE order_id NOT IN (SELECT id FROM orders) ORDER BY id") == [
            900001,
            900002,
            900003,
        ]
        assert ids(
            "SELECT o.id FROM orders AS o WHERE total_cents != (SELECT SUM(quantity * unit_price_cents) "
            "FROM order_items WHERE order_id = o.id) ORDER BY o.id"
        ) == [3, 6, 9, 12, 15]


def test_bad_data_is_undone_exactly_when_its_undo_runs(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    create_database(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        pristine = list(conn.iterdump())
        undo = apply_bad_data(conn)
        assert count_bad_data(conn) == BAD_DATA
        undo.run(conn)
        assert list(conn.iterdump()) == pristine
    finally:
        conn.close()


def test_seed_is_identical_when_created_twice_at_the_same_moment(tmp_path: Path) -> None:
    import datetime as dt

    moment = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    dumps = []
    for name in ("a.db", "b.db"):
        create_database(tmp_path / name, now=moment)
        with sqlite3.connect(tmp_path / name) as conn:
            dumps.append(list(conn.iterdump()))
    assert dumps[0] == dumps[1]
