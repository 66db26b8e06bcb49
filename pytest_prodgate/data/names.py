"""Table and column names, and the few SQL fragments a rule may carry, made safe before they reach SQL.

Names are never spliced into SQL text: a rule's table is *reflected* (so a name that is not a table
in the database is a ``ConfigError`` naming it) and SQLAlchemy's dialect identifier preparer quotes
every identifier it renders. ``x; drop table y`` is thus either "no such table" or a quoted name,
never a statement. Fragments that are SQL on purpose (``expression``, ``where``, ``of``, ``sql``) are
the rules author's own code, like a dbt model; they are still refused when they could stack a
second statement (``;``) or hide one in a comment.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pytest_prodgate.errors import ConfigError

__all__ = ["Catalog", "check_fragment", "check_name", "check_query", "split_table"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_NAME = 128
_QUERY_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


def check_name(name: Any, what: str) -> str:
    """A table or column name: a non-empty string without control characters (it will be quoted)."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{what} must be a non-empty name, got {name!r}")
    if _CONTROL.search(name) or len(name) > _MAX_NAME:
        raise ConfigError(f"{what} {name!r} is not a usable name (control characters or longer than {_MAX_NAME})")
    return name


def split_table(name: str, what: str = "table") -> tuple[str | None, str]:
    """``"shop.orders"`` -> ``("shop", "orders")``; ``"orders"`` -> ``(None, "orders")``."""
    check_name(name, what)
    if "." in name:
        schema, table = name.rsplit(".", 1)
        return check_name(schema, f"{what} schema"), check_name(table, what)
    return None, name


def check_fragment(text: Any, what: str) -> str:
    """A SQL fragment written by the rules author: one expression, no statement separator, no comment."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{what} must be a non-empty SQL expression, got {text!r}")
    for token, reason in ((";", "a statement separator"), ("--", "a comment"), ("/*", "a comment")):
        if token in text:
            raise ConfigError(f"{what} {text!r} contains {token!r} ({reason}); give one expression only")
    if _CONTROL.search(text.replace("\n", " ").replace("\t", " ").replace("\r", " ")):
        raise ConfigError(f"{what} {text!r} contains control characters")
    return text.strip()


def check_query(text: Any, what: str = "sql") -> str:
    """A whole query for the ``sql`` rule: one SELECT (or WITH ... SELECT), a trailing ``;`` allowed."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{what} must be a SELECT query returning the violating rows, got {text!r}")
    query = text.strip().rstrip(";").rstrip()
    check_fragment(query, what)
    if not _QUERY_START.match(query):
        raise ConfigError(
            f"{what} must start with SELECT or WITH (a query returning the violating rows), got {query[:40]!r}"
        )
    return query


class Catalog:
    """Reflects the tables rules name, once per connection, and resolves their columns."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.metadata = sa.MetaData()
        self._tables: dict[str, sa.Table] = {}

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    @property
    def window_functions(self) -> bool:
        """Whether the database runs ``count(*) OVER ()``: SQLite 3.25, MariaDB 10.2 and MySQL 8 added them;
        PostgreSQL has them in every supported release."""
        dialect = self.conn.dialect
        version = tuple(v for v in (dialect.server_version_info or ()) if isinstance(v, int))
        if dialect.name == "sqlite":
            return version >= (3, 25)
        if dialect.name in ("mysql", "mariadb"):
            return version >= ((10, 2) if getattr(dialect, "_is_mariadb", False) else (8, 0))
        return True

    def table(self, name: str, what: str = "table") -> sa.Table:
        """The reflected table ``name`` (``schema.table`` allowed); a missing one is a ``ConfigError``."""
        if name in self._tables:
            return self._tables[name]
        schema, table_name = split_table(name, what)
        try:
            table = sa.Table(table_name, self.metadata, schema=schema, autoload_with=self.conn)
        except sa.exc.NoSuchTableError:
            known = sa.inspect(self.conn).get_table_names(schema=schema)
            hint = difflib.get_close_matches(table_name, known, n=1)
            more = f"did you mean {hint[0]!r}?" if hint else f"tables: {', '.join(sorted(known)[:12]) or 'none'}"
            where = f" in schema {schema!r}" if schema else ""
            raise ConfigError(f"{what} {name!r} does not exist{where} ({more})") from None
        self._tables[name] = table
        return table

    def column(self, table: sa.Table, name: Any, what: str = "column") -> sa.Column[Any]:
        """Column ``name`` of ``table``; a missing one is a ``ConfigError`` listing the real ones."""
        check_name(name, what)
        if name in table.c:
            column: sa.Column[Any] = table.c[name]
            return column
        known = [c.name for c in table.columns]
        hint = difflib.get_close_matches(name, known, n=1)
        more = f"did you mean {hint[0]!r}?" if hint else f"columns: {', '.join(known)}"
        raise ConfigError(f"{what} {name!r} is not a column of {table.fullname!r} ({more})")

    def key_columns(self, table: sa.Table, names: tuple[str, ...]) -> list[sa.Column[Any]]:
        """The columns that identify a row in samples: those named, else the primary key."""
        if names:
            return [self.column(table, n, "key column") for n in names]
        return list(table.primary_key.columns)

    def is_unique(self, table: sa.Table, column: sa.Column[Any]) -> bool:
        """Whether the database guarantees ``column`` alone is unique (its primary key or a unique index)."""
        if list(table.primary_key.columns) == [column]:
            return True
        for index in table.indexes:
            if index.unique and list(index.columns) == [column]:
                return True
        return any(
            isinstance(constraint, sa.UniqueConstraint) and list(constraint.columns) == [column]
            for constraint in table.constraints
        )
