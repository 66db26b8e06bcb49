"""Names are quoted or rejected, never executed; SQL fragments cannot stack statements; queries time out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pytest_prodgate.data.rules import make_rule
from pytest_prodgate.data.runner import DataChecker, RuleTimeout
from pytest_prodgate.errors import ConfigError, ProdgateError
from tests import data_shop

BACKENDS = ["sqlite", "postgresql", "mariadb"]
EVIL = "x; drop table victims"


@pytest.fixture(params=BACKENDS)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, sa.Engine]]:
    with data_shop.database(request.param, tmp_path) as url:
        engine = sa.create_engine(url)
        victims = sa.Table("victims", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
        victims.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(victims.insert(), [{"id": 1}, {"id": 2}])
        try:
            yield request.param, url, engine
        finally:
            engine.dispose()


def _victims_left(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM victims").scalar_one())


def test_injection_looking_table_name_is_rejected_when_no_such_table_exists(place: tuple[str, str, sa.Engine]) -> None:
    _, url, engine = place
    with DataChecker(url) as checker, pytest.raises(ConfigError) as caught:
        checker.run(make_rule("not_null", {"table": EVIL, "column": "id"}))
    assert str(caught.value).startswith(f"table {EVIL!r} does not exist")
    assert _victims_left(engine) == 2


def test_injection_looking_column_name_is_rejected_when_it_is_not_a_column(place: tuple[str, str, sa.Engine]) -> None:
    _, url, engine = place
    with DataChecker(url) as checker, pytest.raises(ConfigError) as caught:
        checker.run(make_rule("unique", {"table": "victims", "column": "id); drop table victims; --"}))
    assert "is not a column of 'victims'" in str(caught.value)
    assert _victims_left(engine) == 2


def test_injection_looking_names_are_quoted_when_such_a_table_really_exists(place: tuple[str, str, sa.Engine]) -> None:
    _, url, engine = place
    odd = sa.Table(EVIL, sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("a b; --", sa.Integer))
    odd.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(odd.insert(), [{"id": 1, "a b; --": None}, {"id": 2, "a b; --": 5}])
    with DataChecker(url) as checker:
        result = checker.run(make_rule("not_null", {"table": EVIL, "column": "a b; --"}))
    assert result.violations == 1
    assert [row[0] for row in result.sample] == [1]
    quote = "`" if engine.dialect.name == "mysql" else '"'
    assert f"{quote}{EVIL}{quote}" in result.sql
    assert _victims_left(engine) == 2


@pytest.mark.parametrize(
    ("kind", "options", "reason"),
    [
        ("expression", {"table": "t", "expression": "1=1; drop table victims"}, "contains ';'"),
        ("expression", {"table": "t", "expression": "1=1 -- hide"}, "contains '--'"),
        ("not_null", {"table": "t", "column": "id", "where": "1=1 /* x */"}, "contains '/*'"),
        ("sql", {"sql": "SELECT 1; DROP TABLE victims"}, "contains ';'"),
        ("sql", {"sql": "DELETE FROM victims"}, "must start with SELECT or WITH"),
        ("reconcile", {"table": "t", "column": "c", "child": "i.o", "of": "q; drop table victims"}, "contains ';'"),
    ],
)
def test_sql_fragment_is_rejected_when_it_could_run_a_second_statement(
    kind: str, options: dict[str, object], reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_rule(kind, options)
    assert reason in str(caught.value)


def test_a_trailing_semicolon_is_allowed_when_the_sql_rule_is_one_query() -> None:
    assert make_rule("sql", {"sql": "SELECT id FROM t WHERE x < 0;"}).id == "sql: SELECT id FROM t WHERE x < 0;"


SLOW_QUERIES = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000000) "
    "SELECT i FROM n WHERE i < 0",
    "postgresql": "SELECT 1 AS one FROM pg_sleep(5)",
    "mariadb": "SELECT seq FROM seq_1_to_100000000000 WHERE seq % 7 = 10",
}


def test_query_is_stopped_with_a_clear_error_when_it_runs_past_the_statement_timeout(
    place: tuple[str, str, sa.Engine],
) -> None:
    backend, url, engine = place
    rule = make_rule("sql", {"sql": SLOW_QUERIES[backend], "name": "slow"})
    with DataChecker(url, statement_timeout=0.3) as checker:
        with pytest.raises(RuleTimeout) as caught:
            checker.run(rule)
        assert str(caught.value).startswith("rule 'slow': the query ran past the statement timeout of 0.3 s")
        # The connection is usable afterwards, with no timeout left behind.
        assert checker.run(make_rule("not_null", {"table": "victims", "column": "id"})).passed


def test_rules_cannot_write_when_a_sql_rule_tries_to(place: tuple[str, str, sa.Engine]) -> None:
    _, url, engine = place
    # PostgreSQL and SQLite also run rules in a read-only transaction; none of the three executes this.
    writer = make_rule("sql", {"sql": "WITH gone AS (DELETE FROM victims RETURNING id) SELECT id FROM gone"})
    with DataChecker(url) as checker, pytest.raises(ProdgateError):
        checker.run(writer)
    assert _victims_left(engine) == 2


def test_rules_run_in_a_read_only_transaction_when_the_database_offers_one(place: tuple[str, str, sa.Engine]) -> None:
    _, url, engine = place
    rule = make_rule("row_count", {"table": "victims"})
    with DataChecker(url) as checker:
        with checker._session(rule) as conn, pytest.raises(sa.exc.DBAPIError) as caught:
            conn.exec_driver_sql("DELETE FROM victims")
        assert any(word in str(caught.value.orig).lower() for word in ("read only", "read-only", "readonly"))
        # Afterwards the pooled connection writes again (for whoever shares the engine) and rules still run.
        with checker.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO victims (id) VALUES (3)")
        assert checker.run(rule).figures["rows"] == 3
    assert _victims_left(engine) == 3


def test_sqlite_sorts_with_helper_threads_during_a_rule_and_not_after_it(tmp_path: Path) -> None:
    # PRAGMA threads lets SQLite's sorter (every GROUP BY without an index) use the other cores, for the
    # rule's statements only: a connection the engine pools for someone else gets its setting back.
    from pytest_prodgate.data.runner import sqlite_sort_threads

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    with DataChecker(url) as checker:
        with checker.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA threads = 3")  # what the user's own setting was: not ours
        during = checker.run(make_rule("sql", {"sql": "SELECT threads FROM pragma_threads", "name": "threads"}))
        with checker.engine.connect() as conn:
            after = conn.exec_driver_sql("PRAGMA threads").scalar()
    assert during.sample == [(sqlite_sort_threads(),)]
    assert after == 3
    assert sqlite_sort_threads() == max(0, min(4, len(os.sched_getaffinity(0)) - 1))
