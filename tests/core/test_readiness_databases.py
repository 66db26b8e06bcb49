"""Database readiness against real PostgreSQL, MariaDB and SQLite, closed ports and a silent port; Alembic."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_prodgate.readiness.databases import check_alembic, check_database
from pytest_prodgate.redact import MASK
from pytest_prodgate.thresholds import Verdict
from tests.services import MARIADB_URL, POSTGRES_URL, require_port


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections into its backlog and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_database_passes_with_latency_when_postgres_answers() -> None:
    require_port("127.0.0.1", 5432, "PostgreSQL")

    result = check_database(POSTGRES_URL, timeout=5, thresholds=["latency < 5s"])

    assert result.verdict is Verdict.PASS, result.message()
    assert 0 < result.figures["latency"] < 5
    assert "answered SELECT 1 in" in result.message()


def test_database_passes_when_mariadb_answers() -> None:
    require_port("127.0.0.1", 3306, "MariaDB")

    result = check_database(MARIADB_URL, timeout=5)

    assert result.verdict is Verdict.PASS, result.message()
    assert result.figures["latency"] > 0


def test_database_passes_when_sqlite_file_opens(tmp_path: Path) -> None:
    result = check_database(f"sqlite:///{tmp_path / 'app.db'}", timeout=2)

    assert result.verdict is Verdict.PASS, result.message()


@pytest.mark.parametrize(
    "template",
    [
        "postgresql+psycopg://app:Sup3r-s3cret@127.0.0.1:{port}/test",
        "mysql+pymysql://app:Sup3r-s3cret@127.0.0.1:{port}/test",
    ],
)
def test_database_fails_with_reason_and_masked_password_when_port_is_closed(template: str) -> None:
    pytest.importorskip("psycopg" if "psycopg" in template else "pymysql")
    url = template.format(port=closed_port())

    result = check_database(url, timeout=2)

    assert result.verdict is Verdict.FAIL
    message = result.message()
    assert "Sup3r-s3cret" not in message
    assert f"app:{MASK}@127.0.0.1" in message
    assert "refused" in message.lower()
    assert [f.id for f in result.findings] == ["database.unreachable"]
    assert result.figures["elapsed"] < 2 + 1.0  # within its timeout (plus the thread's grace)


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_database_fails_within_its_timeout_when_server_never_answers(silent_port: int, scheme: str) -> None:
    pytest.importorskip("psycopg" if "psycopg" in scheme else "pymysql")
    url = f"{scheme}://root:Sup3r-s3cret@127.0.0.1:{silent_port}/test"

    result = check_database(url, timeout=1)

    assert result.verdict is Verdict.FAIL
    assert result.figures["elapsed"] < 1 + 1.0
    assert "Sup3r-s3cret" not in result.message()
    assert any(reason in result.message() for reason in ("timed out", "timeout expired", "no answer within 1 s"))


def test_database_fails_when_latency_threshold_is_missed() -> None:
    require_port("127.0.0.1", 5432, "PostgreSQL")

    result = check_database(POSTGRES_URL, timeout=5, thresholds=["latency < 1us"])

    assert result.verdict is Verdict.FAIL
    assert result.findings[0].id == "threshold.latency"
    assert "wanted < 1 us" in result.findings[0].message


ENV_PY = """
from alembic import context
from sqlalchemy import create_engine

config = context.config
engine = create_engine(config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"""

REVISION = '''"""{message}"""
revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None

from alembic import op
import sqlalchemy as sa


def upgrade():
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("{table}")
'''


@pytest.fixture
def alembic_dir(tmp_path: Path) -> tuple[Path, str]:
    """A real Alembic directory (env.py, three revisions) and a SQLite database for it."""
    pytest.importorskip("alembic")
    scripts = tmp_path / "migrations"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text(ENV_PY)
    (scripts / "script.py.mako").write_text("")
    chain = [
        ("a1f0c2d3e4b5", None, "create users", "users"),
        ("b2e1d3c4f5a6", "a1f0c2d3e4b5", "create orders", "orders"),
        ("c3d2e4f5a6b7", "b2e1d3c4f5a6", "create invoices", "invoices"),
    ]
    for rev, down, message, table in chain:
        (scripts / "versions" / f"{rev}.py").write_text(
            REVISION.format(rev=rev, down=down, message=message, table=table)
        )
    url = f"sqlite:///{tmp_path / 'app.db'}"
    ini = tmp_path / "alembic.ini"
    ini.write_text(
        textwrap.dedent(f"""
        [alembic]
        script_location = {scripts}
        sqlalchemy.url = {url}
    """)
    )
    return ini, url


def _upgrade(ini: Path, target: str) -> None:
    from alembic import command
    from alembic.config import Config

    command.upgrade(Config(str(ini)), target)


def test_alembic_lists_missing_revisions_when_database_is_behind_head(alembic_dir: tuple[Path, str]) -> None:
    ini, url = alembic_dir
    _upgrade(ini, "a1f0c2d3e4b5")

    result = check_alembic(url, config_file=str(ini))

    assert result.verdict is Verdict.FAIL
    assert [f.line() for f in result.findings] == [
        "[alembic.pending] revision b2e1d3c4f5a6 not applied: create orders",
        "[alembic.pending] revision c3d2e4f5a6b7 not applied: create invoices",
    ]
    assert result.figures["pending"] == 2
    assert "database at a1f0c2d3e4b5, head is c3d2e4f5a6b7: run alembic upgrade head" in result.message()


def test_alembic_lists_every_revision_when_database_is_empty(alembic_dir: tuple[Path, str]) -> None:
    ini, url = alembic_dir

    result = check_alembic(url, config_file=str(ini))

    assert result.figures["pending"] == 3
    assert "database at base (empty)" in result.message()


def test_alembic_passes_when_database_is_at_head(alembic_dir: tuple[Path, str]) -> None:
    ini, url = alembic_dir
    _upgrade(ini, "head")

    result = check_alembic(url, config_file=str(ini))

    assert result.verdict is Verdict.PASS, result.message()
    assert result.figures["pending"] == 0


def test_alembic_errors_with_masked_url_when_database_is_unreachable(alembic_dir: tuple[Path, str]) -> None:
    ini, _url = alembic_dir
    url = f"postgresql+psycopg://app:Sup3r-s3cret@127.0.0.1:{closed_port()}/test"

    result = check_alembic(url, config_file=str(ini), timeout=2)

    assert result.verdict is Verdict.ERROR
    assert "Sup3r-s3cret" not in result.message() and "unreachable" in result.message()


def test_alembic_errors_when_script_directory_is_missing(tmp_path: Path) -> None:
    result = check_alembic(f"sqlite:///{tmp_path / 'x.db'}", script_location=str(tmp_path / "nowhere"))

    assert result.verdict is Verdict.ERROR
    assert "cannot read the Alembic scripts" in result.message()
