"""The schema of ``[tool.prodgate.health]``.

Probe defaults (``retries``, ``deadline``, ``timeout``...), request ``headers`` (``${VAR}`` is read
from the environment, so tokens stay out of pyproject.toml), declarative ``endpoints`` and ``tls``
targets, and the ``security_headers`` audit. Endpoint and TLS entries are checked entry by entry in
``declarative.py`` so a mistake names the entry (``endpoint 'ready'``), not only its index.
"""

from __future__ import annotations

from typing import Any

from pytest_prodgate.config import ANY, DURATION, THRESHOLDS, ListOf, OneOf, TableOf

__all__ = ["ENDPOINT_SCHEMA", "SCHEMA", "SECURITY_HEADERS_SCHEMA", "TLS_SCHEMA"]

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SEVERITY = OneOf("blocking", "warning")

ENDPOINT_SCHEMA: dict[str, Any] = {
    "name": str,
    "method": OneOf(*METHODS),
    "path": str,
    "url": str,
    "status": ANY,  # an integer or a list of integers, checked in declarative.py
    "latency": DURATION,  # shorthand for the threshold ``latency < VALUE``
    "thresholds": THRESHOLDS,
    "json": ListOf(str),
    "contains": str,
    "headers": TableOf(str),
    "expect_headers": TableOf(str),
    "body": ANY,
    "retries": int,
    "timeout": DURATION,
    "deadline": DURATION,
    "severity": SEVERITY,
}

TLS_SCHEMA: dict[str, Any] = {
    "name": str,
    "host": str,
    "port": int,
    "server_name": str,
    "ca_bundle": str,
    "thresholds": THRESHOLDS,
    "min_protocol": OneOf("TLSv1.2", "TLSv1.3"),
    "timeout": DURATION,
    "severity": SEVERITY,
}

SECURITY_HEADERS_SCHEMA: dict[str, Any] = {
    "paths": ListOf(str),
    "hsts_min_age": DURATION,
    "hsts_include_subdomains": bool,
    "waivers": TableOf(str),
    "severity": SEVERITY,
}

SCHEMA: dict[str, Any] = {
    "retries": int,
    "deadline": DURATION,
    "timeout": DURATION,
    "connect_timeout": DURATION,
    "read_timeout": DURATION,
    "backoff": DURATION,
    "max_backoff": DURATION,
    "jitter": float,
    "headers": TableOf(str),
    "verify": bool,
    "ca_bundle": str,
    "collect_in": str,
    "endpoints": ListOf(TableOf(ANY)),
    "tls": ListOf(TableOf(ANY)),
    "security_headers": SECURITY_HEADERS_SCHEMA,
}
