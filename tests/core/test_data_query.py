"""Key queries on SQLite, PostgreSQL and MariaDB: latency figures against a budget, plans against full scans.

Each backend gets a private database place (tests/data_shop.py) holding a table of 100,000 rows; the
plan check fails while its filtered column has no index and passes once it has one.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pytest_prodgate.data.query import QueryLatency, QueryPlan, make_check, percentile
from pytest_prodgate.data.rulesfile import load_rules
from pytest_prodgate.data.runner import DataChecker
from pytest_prodgate.errors import ConfigError, RuleTimeout
from tests import data_shop

ROWS = 100_000
BACKENDS = ["sqlite", "postgresql", "mariadb"]
KEY_QUERY = "SELECT id FROM {table} WHERE val = :val"


def fill(engine: sa.Engine, table: str) -> None:
    """``table`` with ROWS rows (id, val = id % 1000), no index on ``val``."""
    with engine.begin() as conn:
        if engine.dialect.name in ("mysql", "mariadb"):
            conn.exec_driver_sql("SET SESSION max_recursive_iterations = 1000000")
        conn.exec_driver_sql(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, val INTEGER NOT NULL)")
        conn.execute(
            sa.text(
                f"INSERT INTO {table} (id, val) WITH RECURSIVE seq(n) AS "
                f"(SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {ROWS}) SELECT n, n % 1000 FROM seq"
            )
        )
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"ANALYZE {table}")


def add_index(engine: sa.Engine, table: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX {table}_val ON {table} (val)")
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"ANALYZE {table}")
        elif engine.dialect.name in ("mysql", "mariadb"):
            conn.exec_driver_sql(f"ANALYZE TABLE {table}")


@pytest.fixture(params=BACKENDS)
def big(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, sa.Engine, str]]:
    """(URL, engine, table name) of a private place holding a 100k-row table; dropped afterwards."""
    with data_shop.database(request.param, tmp_path) as url:
        engine = sa.create_engine(url)
        table = f"big_{data_shop.run_name()}"
        fill(engine, table)
        try:
            yield url, engine, table
        finally:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            engine.dispose()


def _run(url: str, check: QueryLatency | QueryPlan) -> tuple[str, str, dict[str, float]]:
    with DataChecker(url, statement_timeout=60) as checker:
        result = checker.run(check)
        return result.verdict.value, result.message(), result.figures


def test_explain_fails_naming_table_and_plan_node_when_the_filtered_column_has_no_index(
    big: tuple[str, sa.Engine, str],
) -> None:
    url, _, table = big
    check = QueryPlan(sql=KEY_QUERY.format(table=table), params={"val": 42}, large_tables=(table,))
    verdict, message, figures = _run(url, check)
    assert (verdict, figures["full_scans"]) == ("fail", 1.0), message
    assert "full_scans = 1, wanted == 0" in message.splitlines()[0]
    node = {
        "sqlite": f"SCAN {table}",
        "postgresql": "Seq Scan",
        "mysql": "access_type ALL",
        "mariadb": "access_type ALL",
    }
    backend = sa.make_url(url).get_backend_name()
    assert f"full scan of a large table: table {table} ({node[backend]}" in message, message


def test_explain_passes_when_the_filtered_column_has_an_index(big: tuple[str, sa.Engine, str]) -> None:
    url, engine, table = big
    add_index(engine, table)
    check = QueryPlan(sql=KEY_QUERY.format(table=table), params={"val": 42}, large_tables=(table,))
    verdict, message, figures = _run(url, check)
    assert (verdict, figures["full_scans"]) == ("pass", 0.0), message
    assert "no full scan in the plan" in message


def test_explain_sees_an_index_created_during_the_run_when_the_checker_is_reused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    fill(engine, "orders")
    check = QueryPlan(sql=KEY_QUERY.format(table="orders"), params={"val": 42}, large_tables=("orders",))
    with DataChecker(url) as checker:
        assert checker.run(check).verdict.value == "fail"
        add_index(engine, "orders")  # another connection, as a migration would
        result = checker.run(check)
    engine.dispose()
    assert (result.verdict.value, result.figures["full_scans"]) == ("pass", 0.0), result.message()


def test_explain_counts_rows_against_min_rows_when_no_table_is_named(big: tuple[str, sa.Engine, str]) -> None:
    url, _, table = big
    sql = f"SELECT id FROM {table} WHERE val = 42"
    verdict, message, _ = _run(url, QueryPlan(sql=sql, min_rows=ROWS))
    assert verdict == "fail" and f"{ROWS} rows)" in message, message
    verdict, message, _ = _run(url, QueryPlan(sql=sql, min_rows=ROWS + 1))  # the table is smaller than that
    assert verdict == "pass" and "full scan of a small table (allowed)" in message, message


def test_query_gate_measures_and_passes_a_generous_budget_and_fails_an_impossible_one(
    big: tuple[str, sa.Engine, str],
) -> None:
    url, _, table = big
    sql = KEY_QUERY.format(table=table)
    verdict, message, figures = _run(url, QueryLatency(sql=sql, params={"val": 7}, runs=10, thresholds=("p95 < 60s",)))
    assert verdict == "pass", message
    assert (figures["runs"], figures["rows"]) == (10.0, ROWS / 1000)
    assert 0 < figures["min"] <= figures["p50"] <= figures["p95"] <= figures["max"]
    verdict, message, figures = _run(url, QueryLatency(sql=sql, params={"val": 7}, runs=5, thresholds=("p95 < 1us",)))
    assert verdict == "fail"
    headline = message.splitlines()[0]
    assert headline.startswith(f"latency of {sql}: p95 = ") and headline.endswith(", wanted < 1 us"), headline
    measured = headline.split("p95 = ", 1)[1].split(",", 1)[0]
    assert measured != "0 us" and figures["p95"] > 1e-6, measured


def test_query_gate_runs_read_only_when_the_statement_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with DataChecker(url) as checker, pytest.raises(ConfigError, match="tried to write, and rules run read-only"):
        checker.run(QueryLatency(sql="INSERT INTO t (id) VALUES (1)", runs=1, thresholds=("p95 < 1s",)))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar_one() == 0
    engine.dispose()


def test_query_loop_stops_at_max_time_when_runs_would_take_longer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    with DataChecker(url) as checker:
        result = checker.run(QueryLatency(sql="SELECT 1", runs=1_000_000, max_time="1ms", thresholds=("runs >= 1",)))
    assert 1 <= result.figures["runs"] < 1_000_000
    assert "(stopped at max_time)" in result.message()


def test_percentile_interpolates_between_closest_ranks_when_given_samples() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert (percentile(samples, 50), percentile(samples, 95), percentile(samples, 100)) == (50.5, 95.05, 100.0)
    assert percentile([], 95) == 0.0


def test_make_check_names_the_key_when_an_option_is_wrong() -> None:
    with pytest.raises(ConfigError, match="unknown key 'larg_tables' for a explain check .did you mean 'large_tables'"):
        make_check("explain", {"sql": "SELECT 1", "larg_tables": ["t"]})
    with pytest.raises(ConfigError, match="a query check needs 'sql'"):
        make_check("query", {"runs": 5})
    with pytest.raises(ConfigError, match="runs must be a whole number >= 1, got 0"):
        make_check("query", {"sql": "SELECT 1", "runs": 0})


def test_rules_file_declares_query_and_explain_entries_with_their_lines(tmp_path: Path) -> None:
    rules = tmp_path / "data.toml"
    rules.write_text(
        '[[rule]]\ntype = "row_count"\ntable = "t"\nmin = 1\n\n'
        '[[query]]\nname = "lookup"\nsql = "SELECT id FROM t WHERE val = :val"\nparams = { val = 3 }\nruns = 5\n'
        'thresholds = ["p95 < 30s"]\n\n'
        '[[explain]]\nsql = "SELECT id FROM t WHERE val = 3"\nlarge_tables = ["t"]\n'
    )
    entries = load_rules(rules)
    assert [(e.rule.kind, e.rule.id, e.line) for e in entries] == [
        ("row_count", "row_count(t)", 1),
        ("query", "lookup", 6),
        ("explain", "explain(SELECT id FROM t WHERE val = 3)", 13),
    ]
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    fill(engine, "t")
    engine.dispose()
    with DataChecker(url) as checker:
        verdicts = [checker.run(entry.rule).verdict.value for entry in entries]
    assert verdicts == ["pass", "pass", "fail"]


def test_rules_file_query_entry_without_thresholds_is_a_usage_error_naming_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "data.toml"
    rules.write_text('[[query]]\nsql = "SELECT 1"\n')
    with pytest.raises(ConfigError) as caught:
        load_rules(rules)
    assert str(caught.value) == (
        f"{rules}:1: rule 'query(SELECT 1)': a query entry needs thresholds, e.g. thresholds = [\"p95 < 50ms\"]"
    )


def test_prodgate_data_runs_query_and_explain_entries_and_exits_1_when_the_plan_scans_a_large_table(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    fill(engine, "orders")
    engine.dispose()
    rules = tmp_path / "keys.toml"
    rules.write_text(
        '[[query]]\nname = "lookup"\nsql = "SELECT id FROM orders WHERE val = :val"\nparams = { val = 3 }\n'
        'runs = 3\nthresholds = ["p95 < 60s"]\n\n'
        '[[explain]]\nname = "lookup-plan"\nsql = "SELECT id FROM orders WHERE val = 3"\nlarge_tables = ["orders"]\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", "data", str(rules), "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (1, ""), done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("PASS     lookup  p95 ") and lines[1].endswith(" < 60 s"), lines[1]
    assert lines[2] == "FAIL     lookup-plan  full_scans 1, wanted == 0"
    assert "      full scan of a large table: table orders (SCAN orders)" in lines
    assert lines[-1] == "prodgate data: 1 blocking failure"


@pytest.mark.parametrize(
    ("backend", "slow"),
    [
        ("sqlite", "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq) SELECT count(*) FROM seq"),
        ("postgresql", "SELECT pg_sleep(30)"),
    ],
)
def test_query_gate_is_stopped_by_the_statement_timeout_when_the_query_runs_too_long(
    backend: str, slow: str, tmp_path: Path
) -> None:
    with data_shop.database(backend, tmp_path) as url, DataChecker(url, statement_timeout=0.5) as checker:
        with pytest.raises(RuleTimeout) as caught:
            checker.run(QueryLatency(name="slow", sql=slow, runs=3, thresholds=("p95 < 60s",)))
    assert str(caught.value) == (
        "rule 'slow': the query ran past the statement timeout of 0.5 s "
        "(raise [tool.prodgate.data] statement_timeout, or index the columns the rule reads)"
    )
