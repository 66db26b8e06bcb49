"""Masking of secret values before anything reaches a terminal, a log or a report.

What counts as secret: values of environment variables whose names contain KEY, TOKEN, SECRET,
PASSWORD, PASSWD, CREDENTIAL, DSN (or that the configuration's ``secrets`` list names), passwords
inside URLs (``postgresql://user:pw@host/db``), and headers named like secrets (Authorization, Cookie,
Set-Cookie, X-Api-Key, *-Token...; never the CORS ``Access-Control-*`` ones).

A database DSN is masked down to its password wherever it came from: ``DB_DSN=postgresql://app:pw@db:5432/shop``
shows as ``postgresql://app:********@db:5432/shop``, so a message still says which database it is about.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MASK",
    "Redactor",
    "dsn_secrets",
    "is_database_url",
    "is_secret_header",
    "is_secret_name",
    "mask_headers",
    "mask_url",
    "redactor",
]

MASK = "********"
# Names are matched by plain substring tests and the URL pattern compiles on first use: every pytest
# run builds a redactor over its environment, and compiling regular expressions costs milliseconds.
SECRET_NAME_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "DSN", "PRIVATE", "COOKIE", "AUTH")
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token", "x-csrftoken"}
)
SECRET_HEADER_WORDS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "APIKEY",
    "API-KEY",
    "API_KEY",
    "PRIVATE",
    "CREDENTIAL",
    "COOKIE",
    "CSRF",
    "SESSION",
    "AUTHORIZATION",
)
# CORS headers (Access-Control-Allow-Credentials: true) name other headers and flags, never a secret.
_CORS_PREFIX = "access-control-"
# Shortest value worth replacing by text search: shorter ones would mask ordinary words.
_MIN_SECRET_LENGTH = 4


@functools.cache
def _url_password() -> re.Pattern[str]:
    """scheme://user:password@host -> scheme://user:********@host"""
    return re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s/]+)(?P<at>@)")


@functools.cache
def _query_password() -> re.Pattern[str]:
    """?password=pw (libpq, PyMySQL and Redis accept the password as a query parameter too)"""
    return re.compile(r"(?P<head>[?&](?:password|passwd|pwd|sslpassword)=)(?P<pw>[^&#\s]+)", re.IGNORECASE)


@functools.cache
def _database_url() -> re.Pattern[str]:
    """Schemes of database URLs: their host, port and database are no secret, only their password is."""
    return re.compile(
        r"^(?:postgres(?:ql)?|mysql|mariadb|sqlite|oracle|mssql|cockroachdb|redis|rediss|mongodb(?:\+srv)?|amqps?)"
        r"(?:\+[a-z0-9_]+)?://",
        re.IGNORECASE,
    )


def is_secret_header(name: str) -> bool:
    """Whether an HTTP header named ``name`` holds a secret (Authorization, Cookie, X-Api-Key, *-Token...)."""
    lowered = name.lower()
    if lowered.startswith(_CORS_PREFIX):
        return False
    upper = name.upper()
    return lowered in SECRET_HEADERS or any(word in upper for word in SECRET_HEADER_WORDS)


def is_secret_name(name: str) -> bool:
    """Whether a variable, setting or header named ``name`` holds a secret."""
    lowered = name.lower()
    if lowered.startswith(_CORS_PREFIX):
        return False
    upper = name.upper()
    return any(word in upper for word in SECRET_NAME_WORDS) or lowered in SECRET_HEADERS


def mask_url(url: str) -> str:
    """Hide the password of a URL or DSN: ``postgresql://app:********@db/prod`` (also ``?password=...``)."""
    if "://" in url and "@" in url:
        url = _url_password().sub(lambda m: f"{m['head']}{MASK}{m['at']}", url)
    if _may_hold_query_password(url):
        url = _query_password().sub(lambda m: f"{m['head']}{MASK}", url)
    return url


def _may_hold_query_password(text: str) -> bool:
    """A cheap test before the pattern: password, passwd, sslpassword and pwd all contain one of these."""
    if "=" not in text:
        return False
    lowered = text.lower()
    return "passw" in lowered or "pwd" in lowered


def is_database_url(value: str) -> bool:
    """Whether ``value`` is a database URL (``postgresql://``, ``mysql+pymysql://``, ``redis://``...)."""
    return "://" in value and bool(_database_url().match(value.strip()))


def dsn_secrets(value: str) -> list[str]:
    """The secret parts of a database URL: its password (in the netloc or as a query parameter)."""
    found = [m["pw"] for m in _url_password().finditer(value)] if "://" in value and "@" in value else []
    if _may_hold_query_password(value):
        found += [m["pw"] for m in _query_password().finditer(value)]
    return found


def mask_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of ``headers`` with Authorization, Cookie, Set-Cookie (and other secret ones) masked."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name: (MASK if is_secret_header(name) else value) for name, value in items}


class Redactor:
    """Replaces every known secret value in text (and in nested JSON-like data) by ``MASK``."""

    def __init__(
        self, values: Iterable[str] = (), *, names: Iterable[str] = (), env: Mapping[str, str] | None = None
    ) -> None:
        env = os.environ if env is None else env
        wanted = set(names)
        found = {v for v in values if v}
        for name, value in env.items():
            if not value:
                continue
            # A password inside any URL-valued variable (DATABASE_URL...) is a secret too.
            found.update(dsn_secrets(value))
            # A secret-named variable is masked whole, except a database URL: only its password is secret,
            # and its host, port and database tell which database a message is about (DB_DSN, *_DSN).
            if (name in wanted or is_secret_name(name)) and not is_database_url(value):
                found.add(value)
        # Longest first, so a secret that contains another is masked whole.
        self.values = sorted((v for v in found if len(v) >= _MIN_SECRET_LENGTH), key=len, reverse=True)

    def add(self, *values: str) -> None:
        self.values = sorted(
            {*self.values, *(v for v in values if v and len(v) >= _MIN_SECRET_LENGTH)}, key=len, reverse=True
        )

    def text(self, text: str) -> str:
        text = mask_url(text)
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def data(self, value: Any) -> Any:
        """Mask strings anywhere inside dicts, lists and tuples (keys named like secrets too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: (MASK if _masked_whole(k, v) else self.data(v)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.data(v) for v in value)
        return value

    __call__ = text


def _masked_whole(key: Any, value: Any) -> bool:
    """A value under a secret-named key is masked whole, unless it is a database URL (its password only)."""
    if not (isinstance(key, str) and is_secret_name(key) and isinstance(value, str) and value):
        return False
    return not is_database_url(value)


def redactor(secret_names: Iterable[str] = ()) -> Redactor:
    """A redactor over the current environment plus the configuration's ``secrets`` names."""
    return Redactor(names=secret_names)
