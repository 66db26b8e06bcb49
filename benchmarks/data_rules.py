"""Benchmark: each data rule beside the best hand-written query, dbt, Great Expectations and Soda Core.

For every backend (SQLite, PostgreSQL, MariaDB) and size (1M and 10M rows by default) it seeds
``orders`` and ``order_items`` (N rows each, generated inside the database, a few bad rows every
100,000), then times, per rule type:

- prodgate: ``DataChecker.run(rule)`` (median of ``--repeat``), with this process's RSS right after it (the
  most over its runs, read before the hand-written query runs in this process too);
- hand: the best hand-written SQL for the same check (``HAND_SQL``), its rows fetched (median of ``--repeat``,
  run alternately with prodgate's);
- dbt (``dbt test`` with dbt-postgres), Great Expectations and Soda Core: the peer's matching check,
  each in its own venv under ``~/.cache/prodgate-bench`` (``benchmarks/data_rules_peers.py``),
  median of ``--peer-repeat``.

It prints one table with the ratio of every tool to the hand-written query, and checks that
prodgate found the violations the seed planted. Run by hand:

    python benchmarks/data_rules.py                                  # everything (about an hour)
    python benchmarks/data_rules.py --rows 100000 --backends sqlite --peers   # a quick look

PostgreSQL gets a schema and MariaDB a database named ``prodgate_bench_<random>``, dropped after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
import data_rules_peers as peers  # noqa: E402

from pytest_prodgate.data.rules import make_rule  # noqa: E402
from pytest_prodgate.data.runner import DataChecker, sqlite_sort_threads  # noqa: E402

POSTGRES_URL = os.environ.get("PRODGATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("PRODGATE_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
MB = 1024 * 1024
BACKENDS = ("sqlite", "postgresql", "mariadb")

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

# The best hand-written query for each check: what a person types to find the offending rows (or
# the one figure), as dbt's generic tests and the baseline write them. {cutoff} is now + 5m.
HAND_SQL: dict[str, str] = {
    "row_count": "SELECT count(*) FROM orders",
    "not_null": "SELECT id FROM orders WHERE customer_id IS NULL",
    "unique": "SELECT ref, count(*) FROM orders WHERE ref IS NOT NULL GROUP BY ref HAVING count(*) > 1",
    "accepted_values": "SELECT id, status FROM orders WHERE status NOT IN ('paid', 'shipped', 'delivered')",
    "range": "SELECT id, quantity FROM order_items WHERE quantity < 1 OR quantity > 100",
    "expression": "SELECT id FROM order_items WHERE NOT (quantity * unit_price_cents >= 0)",
    "freshness": "SELECT max(created_at) FROM orders",
    "no_future": "SELECT id FROM orders WHERE created_at > {cutoff}",
    "relationship": "SELECT c.id, c.order_id FROM order_items c WHERE c.order_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM orders p WHERE p.id = c.order_id)",
    "reconcile": "SELECT o.id FROM orders o LEFT JOIN (SELECT order_id, sum(quantity * unit_price_cents) AS s"
    " FROM order_items GROUP BY order_id) i ON i.order_id = o.id"
    " WHERE o.total_cents IS NOT NULL AND o.total_cents <> coalesce(i.s, 0)",
    "sql": "SELECT id, total_cents FROM orders WHERE total_cents < 0",
}


# What the seed plants per N rows (one bad row every 100,000, NULL customer every 50,000).
def expected_violations(rows: int) -> dict[str, int]:
    return {
        "not_null": rows // 50_000,
        "unique": rows // 100_000,
        "accepted_values": (rows - 7) // 100_000 + 1 if rows >= 7 else 0,
        "relationship": (rows - 5) // 100_000 + 1 if rows >= 5 else 0,
        "reconcile": 2 * (rows // 100_000),
    }


SEED: dict[str, str] = {
    "sqlite": """
CREATE TABLE orders (id INTEGER PRIMARY KEY, ref TEXT, customer_id INTEGER, status TEXT, total_cents INTEGER, created_at TEXT);
CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER, quantity INTEGER, unit_price_cents INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
INSERT INTO orders SELECT i, 'R' || (CASE WHEN i % 100000 = 0 THEN i - 1 ELSE i END),
    CASE WHEN i % 50000 = 0 THEN NULL ELSE i % 1000 END,
    CASE WHEN i % 100000 = 7 THEN 'lost' ELSE 'paid' END,
    (i % 7 + 1) * 250 + CASE WHEN i % 100000 = 3 THEN 1 ELSE 0 END,
    datetime('now', '-' || (i % 1000) || ' minutes') FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
INSERT INTO order_items SELECT i, CASE WHEN i % 100000 = 5 THEN i + {rows} ELSE i END, i % 7 + 1, 250 FROM n
""",
    "postgresql": """
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
VACUUM ANALYZE orders; VACUUM ANALYZE order_items
""",
    "mariadb": """
CREATE TABLE orders (id BIGINT PRIMARY KEY, ref VARCHAR(20), customer_id INTEGER, status VARCHAR(20),
                     total_cents BIGINT, created_at DATETIME);
CREATE TABLE order_items (id BIGINT PRIMARY KEY, order_id BIGINT, quantity INTEGER, unit_price_cents INTEGER);
INSERT INTO orders SELECT seq, CONCAT('R', CASE WHEN seq % 100000 = 0 THEN seq - 1 ELSE seq END),
    CASE WHEN seq % 50000 = 0 THEN NULL ELSE seq % 1000 END,
    CASE WHEN seq % 100000 = 7 THEN 'lost' ELSE 'paid' END,
    (seq % 7 + 1) * 250 + CASE WHEN seq % 100000 = 3 THEN 1 ELSE 0 END,
    UTC_TIMESTAMP() - INTERVAL (seq % 1000) MINUTE FROM seq_1_to_{rows};
INSERT INTO order_items SELECT seq, CASE WHEN seq % 100000 = 5 THEN seq + {rows} ELSE seq END, seq % 7 + 1, 250
    FROM seq_1_to_{rows};
ANALYZE TABLE orders, order_items
""",
}


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / MB


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def seeded(backend: str, rows: int) -> Iterator[tuple[str, str | None]]:
    """A database holding the two tables: (SQLAlchemy URL, schema or database name for the peers)."""
    statements = [s for s in SEED[backend].format(rows=rows).split(";") if s.strip()]
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="prodgate-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                for statement in statements:
                    conn.exec_driver_sql(statement)
            engine.dispose()
            yield url, None
        return
    name = f"prodgate_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL if backend == "postgresql" else MARIADB_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql(f"CREATE SCHEMA {name}")
                conn.exec_driver_sql(f"SET search_path = {name}")
                url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={name}"})
            else:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
                conn.exec_driver_sql(f"USE {name}")
                url = sa.make_url(MARIADB_URL).set(database=name)
            for statement in statements:
                conn.exec_driver_sql(statement.replace("%", "%%"))
            if backend == "postgresql":
                # Write the seeded pages out now: otherwise the checkpoint spreads those writes over the
                # next minutes, under whichever queries run first.
                conn.exec_driver_sql("CHECKPOINT")
        yield url.render_as_string(hide_password=False), name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP {'SCHEMA' if backend == 'postgresql' else 'DATABASE'} IF EXISTS {name}"
                                 f"{' CASCADE' if backend == 'postgresql' else ''}")  # fmt: skip
        admin.dispose()


def timed(repeat: int, call: Callable[[], Any]) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def timed_pair(
    repeat: int, first: Callable[[], Any], second: Callable[[], Any], after_first: Callable[[], Any] = lambda: None
) -> tuple[float, Any, float, Any]:
    """Both calls ``repeat`` times, alternating (first, second, first, ...), so a machine that slows down or
    speeds up during the runs (a checkpoint, another process) weighs on both alike; their medians.
    ``after_first`` runs, untimed, right after each run of ``first``."""
    runs: tuple[list[float], list[float]] = ([], [])
    results: list[Any] = [None, None]
    for _ in range(repeat):
        for i, call in enumerate((first, second)):
            started = time.perf_counter()
            results[i] = call()
            runs[i].append(time.perf_counter() - started)
            if i == 0:
                after_first()
    return statistics.median(runs[0]), results[0], statistics.median(runs[1]), results[1]


def cases(backend: str, kinds: list[str]) -> Iterator[tuple[str, str, dict[str, object]]]:
    """(label, rule type, options) of the rules to run on ``backend``: ``RULES``, and on SQLite the time
    rules again with ``utc_text`` (the seed writes UTC text, ``datetime('now', ...)``), labelled so."""
    for kind, options in RULES:
        if kind in kinds:
            yield kind, kind, options
            if backend == "sqlite" and kind in ("freshness", "no_future"):
                yield f"{kind} utc_text", kind, {**options, "utc_text": True}


def hand_sql(kind: str, backend: str, cutoff: dt.datetime) -> str:
    moment = cutoff.strftime("%Y-%m-%d %H:%M:%S")
    literal = f"TIMESTAMP '{moment}'" if backend == "postgresql" else f"'{moment}'"
    return HAND_SQL[kind].format(cutoff=literal)


def measure(
    backend: str, rows: int, wanted_peers: list[str], repeat: int, peer_repeat: int, kinds: list[str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    started = time.perf_counter()
    with seeded(backend, rows) as (url, schema):
        print(f"seeded {backend} with 2 x {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        cutoff = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0) + dt.timedelta(minutes=5)
        engine = sa.create_engine(url)
        # prodgate lets SQLite's sorter use the other cores (PRAGMA threads); the hand-written query is
        # timed on a default connection, and, for the record, on one with the same setting.
        threaded = sa.create_engine(url)
        if backend == "sqlite":
            sa.event.listen(
                threaded, "connect", lambda dbapi, _: dbapi.execute(f"PRAGMA threads = {sqlite_sort_threads()}")
            )
        expected = expected_violations(rows)
        with (
            DataChecker(url, sample_size=10, statement_timeout=3600) as checker,
            engine.connect() as conn,
            threaded.connect() as threaded_conn,
        ):
            before = rss_mb()  # seeded and connected: what the rules add from here is theirs
            for label, kind, options in cases(backend, kinds):
                rule = make_rule(kind, dict(options))
                sql = hand_sql(kind, backend, cutoff)
                after: list[float] = []  # RSS right after each prodgate run, before the hand-written query's
                seconds, result, hand, found = timed_pair(
                    repeat,
                    lambda rule=rule: checker.run(rule),
                    lambda sql=sql: conn.exec_driver_sql(sql.replace("%", "%%")).fetchall(),
                    lambda after=after: after.append(rss_mb()),
                )
                hand_threads = None
                if backend == "sqlite":
                    hand_threads, _ = timed(
                        repeat, lambda sql=sql: threaded_conn.exec_driver_sql(sql.replace("%", "%%")).fetchall()
                    )
                if kind in expected and result.violations != expected[kind]:
                    print(f"  ! {label}: prodgate found {result.violations}, the seed planted {expected[kind]}")
                row = {
                    "backend": backend, "rows": rows, "rule": label, "kind": kind, "prodgate": seconds, "hand": hand,
                    "violations": result.violations, "hand_rows": len(found), "rss": max(after),
                    "hand_threads": hand_threads,
                }  # fmt: skip
                out.append(row)
                print(f"  {backend:10} {rows:>10,} {label:20} prodgate {seconds:7.2f} s  hand {hand:7.2f} s"
                      f"  x{seconds / hand if hand else 0:5.2f}  violations {result.violations:>4}"
                      f"  rss {row['rss']:6.1f} MB"
                      + (f"  hand with PRAGMA threads {hand_threads:.2f} s" if hand_threads is not None else ""),
                      flush=True)  # fmt: skip
        engine.dispose()
        threaded.dispose()
        if out:
            most = max(row["rss"] for row in out)
            print(f"  {backend:10} {rows:>10,} RSS before the first rule {before:.1f} MB, after it {out[0]['rss']:.1f} "
                  f"MB, at most {most:.1f} MB after a rule (+{most - out[0]['rss']:.1f} MB)", flush=True)  # fmt: skip
            for row in out:
                row["rss_before"] = before
        spec = {
            "backend": backend,
            "url": url.replace("+psycopg", "+psycopg2") if backend == "postgresql" else url,
            "schema": schema if backend == "postgresql" else None,
            "cutoff": cutoff.strftime("%Y-%m-%d %H:%M:%S"),
            "stale_before": (cutoff - dt.timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S"),
            "repeat": peer_repeat,
        }
        if backend == "postgresql":  # GX reflects the table in its schema; the search_path option is for us
            spec["url"] = sa.make_url(spec["url"]).difference_update_query(["options"]).render_as_string(False)
        if backend == "mariadb":
            spec["schema"] = schema
        for peer in wanted_peers:
            if backend not in peers.BACKENDS[peer]:
                continue
            try:
                found_by_peer = peers.run_peer(peer, spec, timeout=1800)
            except Exception as exc:  # noqa: BLE001 - a peer that cannot run is reported, the rest goes on
                print(f"  {peer} on {backend}: {exc}", flush=True)
                continue
            for row in out:
                row[peer] = found_by_peer["seconds"].get(row["kind"])
                row[f"{peer}_found"] = found_by_peer["found"].get(row["kind"])
            print(f"  {peer:10} {found_by_peer['seconds']}  peak RSS {found_by_peer['peak_rss_mb']} MB", flush=True)
            print(f"  {peer:10} found {found_by_peer['found']}", flush=True)
    return out


def cell(seconds: float | None, hand: float) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.2f} s ({seconds / hand:.2f}x)" if hand else f"{seconds:.2f} s"


def machine() -> str:
    memory = psutil.virtual_memory().total / 1024**3
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.node()}: {platform.processor() or platform.machine()}, {psutil.cpu_count()} cores "
        f"(load average {load} at the end), {memory:.0f} GiB RAM, "
        f"Python {platform.python_version()}, SQLAlchemy {sa.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--peers", nargs="*", default=["dbt", "gx", "soda"], choices=["dbt", "gx", "soda"])
    parser.add_argument(
        "--rules", nargs="*", default=[kind for kind, _ in RULES], help="rule types to run (default all)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of prodgate and the hand-written query")
    parser.add_argument("--peer-repeat", type=int, default=1, help="runs of each peer's check")
    parser.add_argument(
        "--cap",
        nargs="*",
        default=[],
        metavar="BACKEND=ROWS",
        help="largest size to run on a backend, e.g. mariadb=1000000",
    )
    args = parser.parse_args()
    caps = {backend: int(rows) for backend, rows in (item.split("=", 1) for item in args.cap)}
    print(f"load average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    wanted = []
    for peer in args.peers:
        reason = peers.install(peer)
        if reason:
            print(f"{peer} skipped: {reason}", flush=True)
        else:
            wanted.append(peer)
            print(f"{peers.version(peer)} in {peers.venv_python(peer).parent.parent}", flush=True)
    start_rss, start_peak = rss_mb(), peak_rss_mb()
    results: list[dict[str, Any]] = []
    flat: dict[int, tuple[float, float]] = {}
    for rows in args.rows:
        before = peak_rss_mb()
        for backend in args.backends:
            if rows > caps.get(backend, rows):
                continue
            results += measure(backend, rows, wanted, args.repeat, args.peer_repeat, args.rules)
        flat[rows] = (before, peak_rss_mb())
    print()
    print(f"Machine: {machine()}")
    print(f"Median of {args.repeat} runs (prodgate, hand-written SQL), {args.peer_repeat} run(s) of each peer; "
          "ratio to the hand-written query in parentheses; — where the peer has no such check or backend.")  # fmt: skip
    print()
    names = {"dbt": "dbt test", "gx": "Great Expectations", "soda": "Soda Core"}
    threads = f"hand-written SQL, PRAGMA threads = {sqlite_sort_threads()} (SQLite)"
    header = ["backend", "rows", "rule", "hand-written SQL", "prodgate", threads] + [names[p] for p in wanted]
    print("| " + " | ".join(header) + " |")
    print("|---|---:|---|---:|---:|---:|" + "---:|" * len(wanted))
    for r in results:
        cells = [r["backend"], f"{r['rows']:,}", r["rule"], f"{r['hand']:.2f} s", cell(r["prodgate"], r["hand"]),
                 cell(r["hand_threads"], r["hand"])] + [cell(r.get(p), r["hand"]) for p in wanted]  # fmt: skip
        print("| " + " | ".join(cells) + " |")
    print()
    for rows, (before, after) in flat.items():
        print(f"Python peak RSS over the {rows:,}-row runs (seeding included): {before:.1f} -> {after:.1f} MB "
              f"(+{after - before:.1f} MB)")  # fmt: skip
    for backend in args.backends:
        for rows in args.rows:
            mine = [r for r in results if r["backend"] == backend and r["rows"] == rows]
            if mine:
                before, first, most = mine[0]["rss_before"], mine[0]["rss"], max(r["rss"] for r in mine)
                print(f"RSS of the prodgate runs, {backend} {rows:,} rows: {before:.1f} MB before the first rule "
                      f"(connected), {first:.1f} MB after it, at most {most:.1f} MB after any (+{most - first:.1f} MB "
                      "over the runs after the first)")  # fmt: skip
    print(
        f"RSS at start {start_rss:.1f} MB (peak {start_peak:.1f}), at end {rss_mb():.1f} MB (peak {peak_rss_mb():.1f})"
    )


if __name__ == "__main__":
    main()
