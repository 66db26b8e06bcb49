"""Database URLs as people write them: driver chosen from what is installed, masked down to the password."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from pytest_prodgate.config import ProdgateConfig
from pytest_prodgate.context import Prodgate
from pytest_prodgate.data.runner import DataChecker
from pytest_prodgate.dsn import connection_failure, describe_database, normalize_database_url
from pytest_prodgate.errors import ConfigError, TargetError
from pytest_prodgate.readiness.databases import check_database
from pytest_prodgate.redact import MASK, Redactor, mask_url
from tests.services import MARIADB_URL, POSTGRES_URL, require_port


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("postgresql://app:pw@db:5432/shop", "postgresql+psycopg://app:pw@db:5432/shop"),
        ("postgres://app:pw@db/shop?sslmode=require", "postgresql+psycopg://app:pw@db/shop?sslmode=require"),
        ("postgres+psycopg2://app@db/shop", "postgresql+psycopg2://app@db/shop"),
        ("mysql://root@127.0.0.1:3306/test", "mysql+pymysql://root@127.0.0.1:3306/test"),
        ("mariadb://root:p%40ss@127.0.0.1/test", "mariadb+pymysql://root:p%40ss@127.0.0.1/test"),
        ("postgresql+psycopg://app@db/shop", "postgresql+psycopg://app@db/shop"),
        ("sqlite:///shop.db", "sqlite:///shop.db"),
    ],
)
def test_urls_get_the_installed_driver_when_written_without_one(written: str, expected: str) -> None:
    assert normalize_database_url(written) == expected


def test_second_drivers_are_chosen_when_only_they_are_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # psycopg2 and mysqlclient (MySQLdb) as installed packages on the path; psycopg and PyMySQL as absent.
    for module in ("psycopg2", "MySQLdb"):
        (tmp_path / module).mkdir()
        (tmp_path / module / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what `import psycopg` sees when it is not installed
    monkeypatch.setitem(sys.modules, "pymysql", None)
    assert normalize_database_url("postgresql://db/shop") == "postgresql+psycopg2://db/shop"
    assert normalize_database_url("mysql://db/shop") == "mysql+mysqldb://db/shop"


def test_missing_driver_is_one_line_naming_the_extra_when_none_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("psycopg", "psycopg2", "pymysql", "MySQLdb"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError) as caught:
        normalize_database_url("postgres://app:Sup3r-s3cret@db:5432/shop")
    assert str(caught.value) == (
        f"postgres://app:{MASK}@db:5432/shop: no driver for postgres:// is installed (psycopg or psycopg2); "
        "install one with: pip install 'pytest-prodgate[postgres]'"
    )
    with pytest.raises(
        ConfigError, match=r"\(pymysql or MySQLdb\); install one with: pip install 'pytest-prodgate\[mysql\]'"
    ):
        DataChecker("mariadb://root@127.0.0.1/test")


def test_describe_names_host_port_and_database_when_given_a_url() -> None:
    assert describe_database("postgresql://u:p@127.0.0.1:5999/test") == "host 127.0.0.1, port 5999, database test"
    assert describe_database("mysql://u@db/shop") == "host db, port 3306 (default), database shop"
    assert describe_database("sqlite:////tmp/shop.db") == "SQLite file /tmp/shop.db"
    assert connection_failure("postgresql://u:pw-123@h:1/d", 'password authentication failed for user "u"') == (
        f"cannot connect to postgresql://u:{MASK}@h:1/d (host h, port 1, database d): password authentication "
        'failed for user "u"; check the user and password in the URL'
    )


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_data_and_readiness_reach_the_database_when_the_url_is_written_without_a_driver(backend: str) -> None:
    base = POSTGRES_URL if backend == "postgresql" else MARIADB_URL
    require_port("127.0.0.1", 5432 if backend == "postgresql" else 3306, backend)
    plain = ("postgres://" if backend == "postgresql" else "mariadb://") + base.split("://", 1)[1]
    result = check_database(plain, timeout=10)
    assert result.passed, result.message()
    with DataChecker(plain) as checker, checker.session() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
        assert checker.url_text == plain


def test_dsn_from_a_dsn_variable_is_masked_down_to_its_password_when_the_port_is_wrong() -> None:
    port = _closed_port()
    dsn = f"postgresql://app:Sup3r-s3cret@127.0.0.1:{port}/test"
    redact = Redactor(env={"DB_DSN": dsn})
    with DataChecker(dsn, statement_timeout=5) as checker, pytest.raises(TargetError) as caught:
        checker.run(_row_count())
    shown = redact(str(caught.value))
    assert shown.startswith(
        f"cannot connect to postgresql://app:{MASK}@127.0.0.1:{port}/test (host 127.0.0.1, port {port}, database test): "
    ), shown
    assert shown.endswith("; check that the database server is running and accepts connections on that host and port, "
                          "and that the URL names them"), shown  # fmt: skip
    assert "Sup3r-s3cret" not in shown and "\n" not in shown
    readiness = check_database(dsn, timeout=2)
    text = redact(readiness.message())
    assert f"postgresql://app:{MASK}@127.0.0.1:{port}/test unreachable after" in text, text
    assert "Sup3r-s3cret" not in text


def test_redactor_masks_whole_secret_values_but_only_passwords_of_database_urls() -> None:
    env = {
        "DB_DSN": "postgresql://user:pw-XYZ1@127.0.0.1:5999/test",
        "CACHE_DSN": "redis://:r3dis-pw@cache:6379/0",
        "SENTRY_DSN": "https://abc123key@o1.ingest.sentry.io/42",
        "API_TOKEN": "tok-123456",
        "PG_DSN": "postgresql://app@db/shop?password=qp-secret",
    }
    redact = Redactor(env=env)
    assert redact(env["DB_DSN"]) == f"postgresql://user:{MASK}@127.0.0.1:5999/test"
    assert redact(env["CACHE_DSN"]) == f"redis://:{MASK}@cache:6379/0"
    assert redact(f"dsn {env['SENTRY_DSN']}") == f"dsn {MASK}"  # not a database URL: its key is in the URL
    assert redact("t=tok-123456 pw-XYZ1") == f"t={MASK} {MASK}"
    assert redact(env["PG_DSN"]) == f"postgresql://app@db/shop?password={MASK}"
    assert redact.data({"DB_DSN": env["DB_DSN"], "API_TOKEN": "x"}) == {
        "DB_DSN": f"postgresql://user:{MASK}@127.0.0.1:5999/test",
        "API_TOKEN": MASK,
    }
    assert mask_url("mysql://root:hunter2@h/d?pwd=x1y2") == f"mysql://root:{MASK}@h/d?pwd={MASK}"


def test_prodgate_database_url_variable_wins_over_the_configuration_when_both_are_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = ProdgateConfig(settings={"database_url": "sqlite:///from-config.db"})
    monkeypatch.delenv("PRODGATE_DATABASE_URL", raising=False)
    assert Prodgate(config=config).database_url == "sqlite:///from-config.db"
    monkeypatch.setenv("PRODGATE_DATABASE_URL", "sqlite:///from-env.db")
    assert Prodgate(config=config).database_url == "sqlite:///from-env.db"


def _row_count() -> object:
    from pytest_prodgate.data.rules import make_rule

    return make_rule("row_count", {"table": "orders", "min": 1})
