"""Database URLs as people write them, made into SQLAlchemy URLs; and how to name a database in a message.

libpq, Django's ``dj-database-url`` and every PaaS hand out ``postgresql://`` or ``postgres://`` DSNs,
MySQL and MariaDB hosts ``mysql://`` and ``mariadb://``. SQLAlchemy wants a driver in the scheme
(``postgresql+psycopg://``) and knows no ``postgres://``. ``normalize_database_url`` adds the driver
that is installed (psycopg, then psycopg2; PyMySQL, then mysqlclient) and leaves every other part of
the URL as written; a URL that names its driver is left alone. Nothing heavy is imported here: the
data engine and the readiness database checks both call it before SQLAlchemy parses the URL.
"""

from __future__ import annotations

import importlib.util
import re
from urllib.parse import unquote, urlsplit

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.redact import mask_url

__all__ = ["DEFAULT_PORTS", "connection_failure", "describe_database", "likely_fix", "normalize_database_url"]

# scheme (as written) -> (SQLAlchemy backend, [(importable module, SQLAlchemy driver)...], extra to install)
_DRIVERS: dict[str, tuple[str, tuple[tuple[str, str], ...], str]] = {
    "postgresql": ("postgresql", (("psycopg", "psycopg"), ("psycopg2", "psycopg2")), "postgres"),
    "postgres": ("postgresql", (("psycopg", "psycopg"), ("psycopg2", "psycopg2")), "postgres"),
    "mysql": ("mysql", (("pymysql", "pymysql"), ("MySQLdb", "mysqldb")), "mysql"),
    "mariadb": ("mariadb", (("pymysql", "pymysql"), ("MySQLdb", "mysqldb")), "mysql"),
}
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mariadb": 3306}
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9.-]*)(?:\+(?P<driver>[A-Za-z0-9_]+))?://")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-installed package counts as missing
        return False


def normalize_database_url(url: str) -> str:
    """``url`` with a SQLAlchemy driver in its scheme when it was written without one.

    ``postgres://u:p@h/db`` -> ``postgresql+psycopg://u:p@h/db`` (or ``+psycopg2`` when only that is
    installed); ``mysql://`` -> ``mysql+pymysql://``; ``mariadb://`` -> ``mariadb+pymysql://``. A
    ``ConfigError`` of one line naming the extra to install when no driver is.
    """
    text = url.strip()
    match = _SCHEME.match(text)
    if match is None:
        return url
    scheme, driver = match["scheme"].lower(), match["driver"]
    known = _DRIVERS.get(scheme)
    if known is None:
        return url
    backend, candidates, extra = known
    rest = text[match.end() :]
    if driver:  # the author chose the driver; only postgres:// needs its SQLAlchemy name
        return f"{backend}+{driver}://{rest}"
    for module, name in candidates:
        if _installed(module):
            return f"{backend}+{name}://{rest}"
    modules = " or ".join(module for module, _ in candidates)
    raise ConfigError(
        f"{mask_url(text)}: no driver for {scheme}:// is installed ({modules}); "
        f"install one with: pip install 'pytest-prodgate[{extra}]'"
    )


def describe_database(url: str) -> str:
    """Which database a URL points at, for messages: ``host 127.0.0.1, port 5999, database test``."""
    text = url.strip()
    match = _SCHEME.match(text)
    if match is None:
        return "an unparsable database URL"
    scheme = match["scheme"].lower()
    if scheme == "sqlite":
        path = text[match.end() :].split("?", 1)[0]
        path = path[1:] if path.startswith("/") else path
        return f"SQLite file {path}" if path and path != ":memory:" else "an in-memory SQLite database"
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        return "a database URL whose host or port cannot be read"
    database = unquote(parts.path.lstrip("/")) or "(default)"
    default = DEFAULT_PORTS.get(scheme)
    shown_port = str(port) if port is not None else (f"{default} (default)" if default else "(default)")
    return f"host {host or 'localhost'}, port {shown_port}, database {database}"


# (words in the driver's reason, the likely fix); the first that matches wins.
_FIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("password authentication failed", "access denied", "authentication failed", "no password supplied"),
        "check the user and password in the URL",
    ),
    (("does not exist", "unknown database"), "check the database name in the URL, or create that database"),
    (
        ("could not translate host name", "name or service not known", "nodename nor servname", "unknown host"),
        "check the host name in the URL",
    ),
    (
        ("unable to open database file",),
        "check that the SQLite file's folder exists and is readable",
    ),
    (
        ("refused", "timeout", "timed out", "no answer", "can't connect", "could not connect", "no route"),
        "check that the database server is running and accepts connections on that host and port, "
        "and that the URL names them",
    ),
)


def likely_fix(reason: str) -> str:
    """What a person should check after the driver said ``reason`` (one clause, no final period)."""
    lowered = reason.lower()
    for words, fix in _FIXES:
        if any(word in lowered for word in words):
            return fix
    return "check the URL (database_url, $PRODGATE_DATABASE_URL or --db) and that the database accepts connections"


def connection_failure(url: str, reason: str) -> str:
    """One paragraph: what was tried (the masked URL, its host, port and database), what failed, the likely fix."""
    reason = reason.strip().rstrip(".")
    return f"cannot connect to {mask_url(url)} ({describe_database(url)}): {reason}; {likely_fix(reason)}"
