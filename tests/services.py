"""Access to the real services on 127.0.0.1 that tests use (PostgreSQL, MariaDB, Redis).

When ``CI=true`` a missing service fails the test that needs it; elsewhere it skips it.
"""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES_URL = os.environ.get("PRODGATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("PRODGATE_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("PRODGATE_TEST_REDIS", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_port(host: str, port: int, what: str) -> None:
    """Skip (or, in CI, fail) when nothing listens on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        message = f"{what} is not reachable on {host}:{port}: {exc}"
    if in_ci():
        pytest.fail(message + " (CI=true: a missing service fails the test)", pytrace=False)
    pytest.skip(message)
