"""Key queries as gates in pytest (``data.query``, ``data.explain``, ``[[query]]``/``[[explain]]``), the
database URL's precedence, and a database that cannot be reached: an error with one paragraph, no traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.core.test_data_query import ROWS, add_index, fill

pytest_plugins = ["pytester"]


def _big(path: Path, *, indexed: bool) -> str:
    url = f"sqlite:///{path / 'big.db'}"
    engine = sa.create_engine(url)
    fill(engine, "orders")
    if indexed:
        add_index(engine, "orders")
    engine.dispose()
    return url


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


GATES = """
import pytest

@pytest.mark.data(thresholds=["p95 < 60s"])
def test_lookup_is_fast(data):
    data.query("SELECT id FROM orders WHERE val = :val", params={"val": 7}, runs=5)

@pytest.mark.data
def test_lookup_is_impossibly_fast(data):
    data.query("SELECT id FROM orders WHERE val = :val", params={"val": 7}, runs=5, thresholds=["p95 < 1us"])

@pytest.mark.data
def test_lookup_uses_an_index(data):
    data.explain("SELECT id FROM orders WHERE val = :val", params={"val": 7}, large_tables=["orders"])
"""


def test_query_and_explain_gates_fail_with_measured_values_when_the_index_is_missing(pytester: pytest.Pytester) -> None:
    url = _big(pytester.path, indexed=False)
    pytester.makepyprojecttoml(f'[tool.prodgate]\ndatabase_url = "{url}"\n')
    pytester.makepyfile(test_gates=GATES)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "latency of SELECT id FROM orders WHERE val = :val: p95 = * us, wanted < 1 us",
            "*full scan of a large table: table orders (SCAN orders)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "data  test_lookup_is_fast             PASS  p95 * < 60 s",
            "      test_lookup_is_impossibly_fast  FAIL  p95 * us, wanted < 1 us",
            "      test_lookup_uses_an_index       FAIL  full_scans 1, wanted == 0",
        ]
    )


def test_explain_gate_passes_when_the_filtered_column_has_an_index(pytester: pytest.Pytester) -> None:
    url = _big(pytester.path, indexed=True)
    pytester.makepyprojecttoml(f'[tool.prodgate]\ndatabase_url = "{url}"\n')
    pytester.makepyfile(test_gates=GATES)
    result = pytester.runpytest("-p", "no:randomly", "-k", "fast and not impossibly or index")
    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines(["*test_lookup_uses_an_index  PASS  full_scans 0 == 0"])


def test_rules_file_query_and_explain_entries_are_gates_when_listed(pytester: pytest.Pytester) -> None:
    url = _big(pytester.path, indexed=False)
    pytester.makefile(
        ".toml",
        keys=(
            '[[query]]\nname = "lookup-latency"\nsql = "SELECT id FROM orders WHERE val = :val"\nparams = { val = 3 }\n'
            'runs = 5\nthresholds = ["p95 < 60s", "rows == 100"]\n\n'
            '[[explain]]\nname = "lookup-plan"\nsql = "SELECT id FROM orders WHERE val = 3"\n'
            f"min_rows = {ROWS}\n"
        ),
    )
    pytester.makepyprojecttoml(
        f'[tool.prodgate]\ndatabase_url = "{url}"\n[tool.prodgate.data]\nrules = ["keys.toml"]\n'
    )
    result = pytester.runpytest("-p", "no:randomly", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["keys.toml::lookup-latency PASSED*", "keys.toml::lookup-plan FAILED*"])
    result.stdout.fnmatch_lines([f"*full scan of a large table: table orders (SCAN orders, {ROWS} rows)"])


def test_prodgate_database_url_wins_over_the_configured_one_when_both_are_set(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (pytester.path / "env").mkdir()
    from_env = _big(pytester.path / "env", indexed=False)
    from_config = f"sqlite:///{pytester.path / 'empty.db'}"  # has no orders table
    pytester.makepyprojecttoml(f'[tool.prodgate]\ndatabase_url = "{from_config}"\n')
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.data
        def test_orders(data, prodgate):
            data.row_count("orders", min=1)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)  # the configured database has no such table
    monkeypatch.setenv("PRODGATE_DATABASE_URL", from_env)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_unreachable_dsn_from_a_dsn_variable_is_an_error_naming_host_port_and_database_without_traceback(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _closed_port()
    monkeypatch.setenv("DB_DSN", f"postgresql://app:Sup3r-s3cret@127.0.0.1:{port}/test")
    pytester.makeconftest(
        """
        import os
        import pytest
        from pytest_prodgate.data.runner import DataChecker

        @pytest.fixture(scope="session")
        def data_checker():
            with DataChecker(os.environ["DB_DSN"], statement_timeout=5) as checker:
                yield checker
        """
    )
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.data
        def test_orders(data):
            data.row_count("orders", min=1)

        @pytest.mark.readiness
        def test_database(readiness):
            readiness.database(os.environ["DB_DSN"], timeout="10s")
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1, failed=1)
    shown = f"postgresql://app:********@127.0.0.1:{port}/test"
    result.stdout.fnmatch_lines(
        [
            f"cannot connect to {shown} (host 127.0.0.1, port {port}, database test): *Connection refused; check that "
            "the database server is running and accepts connections on that host and port, and that the URL names them",
        ]
    )
    result.stdout.fnmatch_lines([f"*data       test_orders    ERROR  cannot connect to {shown} (host 127.0.0.1*"])
    result.stdout.fnmatch_lines(
        [f"*[[]database.unreachable[]] {shown} unreachable after * ms: *; check that the database server is running*"]
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Sup3r-s3cret" not in output
    assert "Traceback" not in output and "sqlalchemy" not in output.lower() and "runner.py" not in output
