"""Benchmark: time per data rule on 1M- and 10M-row tables in SQLite and PostgreSQL, with the RSS
of this Python process before and after, to show that rules run in the database (memory stays flat).

Run by hand (it writes ~1.5 GB for SQLite and a throw-away PostgreSQL schema, both removed after):

    python benchmarks/data_rules.py                       # 1M and 10M rows, SQLite and PostgreSQL
    python benchmarks/data_rules.py --rows 1000000 --backends sqlite

Tables are generated inside the database (recursive CTE / generate_series), never in Python:
``orders`` (N rows) and ``order_items`` (N rows, one per order), with a few bad rows every 100,000.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import sqlalchemy as sa

from pytest_prodgate.data.rules import Rule, make_rule
from pytest_prodgate.data.runner import DataChecker

POSTGRES_URL = os.environ.get("PRODGATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MB = 1024 * 1024

RULES: list[tuple[str, dict[str, object]]] = [
    ("row_count", {"table": "orders", "min": 1}),
    ("not_null", {"table": "orders", "column": "customer_id"}),
    ("unique", {"table": "orders", "column": "ref"}),
    ("accepted_values", {"table": "orders", "column": "status", "values": ["paid", "shipped", "delivered"]}),
    ("range", {"table": "order_items", "column": "quantity", "min": 1, "max": 100}),
    ("expression", {"table": "order_items", "expression": "quantity * unit_price_cents >= 0"}),
    ("freshness", {"table": "orders", "column": "created_at", "max_age": "30d"}),
    ("no_future", {"table": "orders", "column": "created_at", "tolerance": "5m"}),
    ("relationship", {"table": "order_items", "column": "order_id", "to": "orders.id"}),
    ("reconcile", {"table": "orders", "column": "total_cents", "child": "order_items.order_id",
                   "of": "quantity * unit_price_cents"}),
    ("sql", {"sql": "SELECT id, total_cents FROM orders WHERE total_cents < 0", "name": "negative totals"}),
]  # fmt: skip

SQLITE_SEED = """
CREATE TABLE orders (id INTEGER PRIMARY KEY, ref TEXT, customer_id INTEGER, status TEXT, total_cents INTEGER, created_at TEXT);
CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER, quantity INTEGER, unit_price_cents INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
INSERT INTO orders SELECT i, 'R' || (CASE WHEN i % 100000 = 0 THEN i - 1 ELSE i END),
    CASE WHEN i % 50000 = 0 THEN NULL ELSE i % 1000 END,
    CASE WHEN i % 100000 = 7 THEN 'lost' ELSE 'paid' END,
    (i % 7 + 1) * 250 + CASE WHEN i % 100000 = 3 THEN 1 ELSE 0 END,
    datetime('now', '-' || (i % 1000) || ' minutes') FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
INSERT INTO order_items SELECT i, CASE WHEN i % 100000 = 5 THEN i + {rows} ELSE i END, i % 7 + 1, 250 FROM n;
"""

POSTGRES_SEED = """
CREATE TABLE orders (id BIGINT PRIMARY KEY, ref TEXT, customer_id INTEGER, status TEXT, total_cents BIGINT,
                     created_at TIMESTAMP);
CREATE TABLE order_items (id BIGINT PRIMARY KEY, order_id BIGINT, quantity INTEGER, unit_price_cents INTEGER);
INSERT INTO orders SELECT i, 'R' || (CASE WHEN i % 100000 = 0 THEN i - 1 ELSE i END),
    CASE WHEN i % 50000 = 0 THEN NULL ELSE i % 1000 END,
    CASE WHEN i % 100000 = 7 THEN 'lost' ELSE 'paid' END,
    (i % 7 + 1) * 250 + CASE WHEN i % 100000 = 3 THEN 1 ELSE 0 END,
    (now() AT TIME ZONE 'utc') - (i % 1000) * interval '1 minute' FROM generate_series(1, {rows}) AS i;
INSERT INTO order_items SELECT i, CASE WHEN i % 100000 = 5 THEN i + {rows} ELSE i END, i % 7 + 1, 250
    FROM generate_series(1, {rows}) AS i;
ANALYZE orders; ANALYZE order_items;
"""


def rss() -> float:
    return psutil.Process().memory_info().rss / MB


def build(rules: list[tuple[str, dict[str, object]]]) -> list[Rule]:
    return [make_rule(kind, dict(options)) for kind, options in rules]


def seed_sqlite(path: Path, rows: int) -> str:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.executescript(SQLITE_SEED.format(rows=rows))
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def seed_postgres(schema: str, rows: int) -> str:
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        conn.exec_driver_sql(f"SET search_path = {schema}")
        for statement in POSTGRES_SEED.format(rows=rows).split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement.replace("%", "%%"))
    admin.dispose()
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def drop_postgres(schema: str) -> None:
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()


def measure(backend: str, url: str, rows: int) -> list[tuple[str, int, str, float, int, float, float]]:
    out = []
    with DataChecker(url, sample_size=10, statement_timeout=900) as checker:
        for rule in build(RULES):
            before = rss()
            started = time.perf_counter()
            result = checker.run(rule)
            seconds = time.perf_counter() - started
            out.append((backend, rows, rule.kind, seconds, result.violations, before, rss()))
            print(f"  {backend:10} {rows:>10,} {rule.kind:16} {seconds:8.2f} s  violations {result.violations:>4}"
                  f"  rss {before:6.1f} -> {rss():6.1f} MB", flush=True)  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    start_rss = rss()
    results = []
    for rows in args.rows:
        for backend in args.backends:
            seeded = time.perf_counter()
            if backend == "sqlite":
                with tempfile.TemporaryDirectory(prefix="prodgate-bench-") as folder:
                    url = seed_sqlite(Path(folder) / "bench.db", rows)
                    print(
                        f"seeded {backend} with 2 x {rows:,} rows in {time.perf_counter() - seeded:.1f} s", flush=True
                    )
                    results += measure(backend, url, rows)
            else:
                schema = f"prodgate_bench_{uuid.uuid4().hex[:8]}"
                try:
                    url = seed_postgres(schema, rows)
                    print(
                        f"seeded {backend} with 2 x {rows:,} rows in {time.perf_counter() - seeded:.1f} s", flush=True
                    )
                    results += measure(backend, url, rows)
                finally:
                    drop_postgres(schema)
    print()
    print("| backend | rows | rule | seconds | violations | RSS before (MB) | RSS after (MB) |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for backend, rows, kind, seconds, violations, before, after in results:
        print(f"| {backend} | {rows:,} | {kind} | {seconds:.2f} | {violations} | {before:.1f} | {after:.1f} |")
    print()
    print(
        f"RSS at start {start_rss:.1f} MB, at end {rss():.1f} MB, peak over rules {max(r[6] for r in results):.1f} MB"
    )


if __name__ == "__main__":
    main()
