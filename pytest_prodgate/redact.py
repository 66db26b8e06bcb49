"""Masking of secret values before anything reaches a terminal, a log or a report.

What counts as secret: values of environment variables whose names contain KEY, TOKEN, SECRET,
PASSWORD, PASSWD, CREDENTIAL, DSN (or that the configuration's ``secrets`` list names), passwords
inside URLs (``postgresql://user:pw@host/db``), and headers named like secrets (Authorization, Cookie,
Set-Cookie, X-Api-Key, *-Token...; never the CORS ``Access-Control-*`` ones).

A database DSN is masked down to its password wherever it came from: ``DB_DSN=postgresql://app:pw@db:5432/shop``
shows as ``postgresql://app:********@db:5432/shop``, so a message still says which database it is about.
"""

from __future__ import annotations

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
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|DSN|PRIVATE|COOKIE|AUTH", re.IGNORECASE)
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token", "x-csrftoken"}
)
SECRET_HEADER_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|API[-_]?KEY|PRIVATE|CREDENTIAL|COOKIE|CSRF|SESSION|AUTHORIZATION", re.IGNORECASE
)
# CORS headers (Access-Control-Allow-Credentials: true) name other headers and flags, never a secret.
_CORS_PREFIX = "access-control-"
# scheme://user:password@host -> scheme://user:********@host
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s/]+)(?P<at>@)")
# ?password=pw (libpq, PyMySQL and Redis accept the password as a query parameter too)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|passwd|pwd|sslpassword)=)(?P<pw>[^&#\s]+)", re.IGNORECASE)
# Schemes of database URLs: their host, port and database are no secret, only their password is.
_DATABASE_URL = re.compile(
    r"^(?:postgres(?:ql)?|mysql|mariadb|sqlite|oracle|mssql|cockroachdb|redis|rediss|mongodb(?:\+srv)?|amqps?)"
    r"(?:\+[a-z0-9_]+)?://",
    re.IGNORECASE,
)
# Shortest value worth replacing by text search: shorter ones would mask ordinary words.
_MIN_SECRET_LENGTH = 4


def is_secret_header(name: str) -> bool:
    """Whether an HTTP header named ``name`` holds a secret (Authorization, Cookie, X-Api-Key, *-Token...)."""
    lowered = name.lower()
    if lowered.startswith(_CORS_PREFIX):
        return False
    return lowered in SECRET_HEADERS or bool(SECRET_HEADER_NAME.search(name))


def is_secret_name(name: str) -> bool:
    """Whether a variable, setting or header named ``name`` holds a secret."""
    if name.lower().startswith(_CORS_PREFIX):
        return False
    return bool(SECRET_NAME.search(name)) or name.lower() in SECRET_HEADERS


def mask_url(url: str) -> str:
    """Hide the password of a URL or DSN: ``postgresql://app:********@db/prod`` (also ``?password=...``)."""
    masked = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['at']}", url)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", masked)


def is_database_url(value: str) -> bool:
    """Whether ``value`` is a database URL (``postgresql://``, ``mysql+pymysql://``, ``redis://``...)."""
    return bool(_DATABASE_URL.match(value.strip()))


def dsn_secrets(value: str) -> list[str]:
    """The secret parts of a database URL: its password (in the netloc or as a query parameter)."""
    found = [m["pw"] for m in _URL_PASSWORD.finditer(value)]
    return found + [m["pw"] for m in _QUERY_PASSWORD.finditer(value)]


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
