"""Named faults of the demo service, so that every gate family has something real to fail on.

Faults come from ``PRODGATE_DEMO_FAULTS=name,name``, ``--fault NAME`` (repeatable) and the state file
(see ``state.py``); the active set is their union. An unknown name is a ``ConfigError`` listing the known ones.

``bad-data`` changes the database: it adds exactly the problems counted in ``BAD_DATA``, at the rows
listed in ``BAD_DATA_ROWS``; ``BAD_DATA_QUERIES`` holds, for each problem, the SQL that counts it
(0 on a healthy database, ``BAD_DATA[name]`` with the fault). ``apply_bad_data`` returns an ``Undo``
that restores the healthy data, which the state file uses when a release without the fault comes back.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from pytest_prodgate.errors import ConfigError

SLOW = "slow"
ERRORS = "errors"
NOT_READY = "not-ready"
NO_SECURITY_HEADERS = "no-security-headers"
BAD_DATA_FAULT = "bad-data"
LEAK = "leak"

KNOWN_FAULTS: dict[str, str] = {
    SLOW: "a fixed extra latency on the catalogue (PRODGATE_DEMO_SLOW_MS, default 300)",
    ERRORS: "a deterministic share of catalogue requests answer 500 (PRODGATE_DEMO_ERROR_RATE, default 20%)",
    NOT_READY: "/health/ready answers 503 because its database check fails; liveness stays 200",
    NO_SECURITY_HEADERS: "no security headers and no cookie flags",
    BAD_DATA_FAULT: "orphans, duplicates, NULLs, wrong totals, a future order and negative quantities",
    LEAK: "every request retains about 200 KB more memory (capped at 2 GB)",
}

DEFAULT_SLOW_MS = 300.0
DEFAULT_ERROR_RATE = Fraction(1, 5)
LEAK_BYTES_PER_REQUEST = 200 * 1024
LEAK_CAP_BYTES = 2 * 1024**3

# Rows that bad-data inserts get ids from here on, far above the seeded ones.
BAD_ROW_ID_BASE = 900_001

BAD_DATA: dict[str, int] = {
    "orphan_order_items": 3,
    "duplicate_skus": 2,
    "null_prices": 4,
    "null_emails": 2,
    "wrong_order_totals": 5,
    "future_orders": 1,
    "negative_quantities": 2,
}
# duplicate_skus counts sku values that appear more than once; each appears exactly twice, so the
# surplus rows (COUNT(*) - COUNT(DISTINCT sku)) are also 2 and the rows involved are 4.
DUPLICATE_SKU_SURPLUS_ROWS = 2
DUPLICATE_SKU_ROWS_INVOLVED = 4

BAD_DATA_ROWS: dict[str, str] = {
    "orphan_order_items": "order_items 900001-900003 point at orders 900001-900003, which do not exist",
    "duplicate_skus": "products 900001 and 900002 repeat the skus of products 1 and 2",
    "null_prices": "products 10, 20, 30 and 40 have price_cents NULL",
    "null_emails": "customers 5 and 15 have email NULL",
    "wrong_order_totals": "orders 3, 6, 9, 12 and 15 have total_cents off by +1, +100, -50, +999 and -1 cents",
    "future_orders": "order 150 has created_at 7 days after the fault was applied",
    "negative_quantities": "order_items 900004 and 900005 (orders 100 and 200) have quantity -1; "
    "their orders' stored totals include them, so the totals stay right",
}

BAD_DATA_QUERIES: dict[str, str] = {
    "orphan_order_items": "SELECT COUNT(*) FROM order_items AS i LEFT JOIN orders AS o ON o.id = i.order_id "
    "WHERE o.id IS NULL",
    "duplicate_skus": "SELECT COUNT(*) FROM (SELECT sku FROM products WHERE sku IS NOT NULL "
    "GROUP BY sku HAVING COUNT(*) > 1)",
    "null_prices": "SELECT COUNT(*) FROM products WHERE price_cents IS NULL",
    "null_emails": "SELECT COUNT(*) FROM customers WHERE email IS NULL",
    "wrong_order_totals": "SELECT COUNT(*) FROM orders AS o WHERE o.total_cents != (SELECT COALESCE(SUM("
    "i.quantity * i.unit_price_cents), 0) FROM order_items AS i WHERE i.order_id = o.id)",
    "future_orders": "SELECT COUNT(*) FROM orders WHERE created_at > strftime('%Y-%m-%d %H:%M:%S', 'now')",
    "negative_quantities": "SELECT COUNT(*) FROM order_items WHERE quantity < 0",
}


def parse_faults(names: Iterable[str], *, where: str = "--fault") -> frozenset[str]:
    """Validate fault names (stripped, empty ones ignored); an unknown name is a one-line ``ConfigError``."""
    chosen = {name.strip() for name in names if name and name.strip()}
    unknown = sorted(chosen - KNOWN_FAULTS.keys())
    if unknown:
        known = ", ".join(KNOWN_FAULTS)
        raise ConfigError(f"unknown fault {unknown[0]!r}; known faults: {known}", where=where)
    return frozenset(chosen)


def faults_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The faults named in ``PRODGATE_DEMO_FAULTS`` (comma separated)."""
    raw = (os.environ if environ is None else environ).get("PRODGATE_DEMO_FAULTS", "")
    return parse_faults(raw.split(","), where="PRODGATE_DEMO_FAULTS")


@dataclass(frozen=True)
class FaultTuning:
    """The knobs of the ``slow`` and ``errors`` faults, read once from the environment."""

    slow_seconds: float = DEFAULT_SLOW_MS / 1000
    error_rate: Fraction = DEFAULT_ERROR_RATE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FaultTuning:
        env = os.environ if environ is None else environ
        slow_ms = _number(env, "PRODGATE_DEMO_SLOW_MS", DEFAULT_SLOW_MS, "a duration in milliseconds, e.g. 300")
        if slow_ms < 0:
            raise ConfigError(f"{slow_ms:g} is negative; expected milliseconds >= 0", where="PRODGATE_DEMO_SLOW_MS")
        rate = _error_rate(env.get("PRODGATE_DEMO_ERROR_RATE"))
        return cls(slow_seconds=slow_ms / 1000, error_rate=rate)


def _number(env: Mapping[str, str], key: str, default: float, expected: str) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{raw!r} is not a number; expected {expected}", where=key) from None


def _error_rate(raw: str | None) -> Fraction:
    text = (raw or "").strip()
    if not text:
        return DEFAULT_ERROR_RATE
    try:
        rate = Fraction(text[:-1].strip()) / 100 if text.endswith("%") else Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(
            f"{text!r} is not a share; expected e.g. 0.2 or 20%", where="PRODGATE_DEMO_ERROR_RATE"
        ) from None
    if not 0 <= rate <= 1:
        raise ConfigError(f"{text!r} is outside 0..1 (0%..100%)", where="PRODGATE_DEMO_ERROR_RATE")
    return rate.limit_denominator(10_000)


class ErrorCounter:
    """Decides which catalogue requests fail: request n fails when floor(n*rate) steps up.

    With the default 20% that is every 5th request, so any 50 consecutive requests hold exactly 10 errors.
    """

    def __init__(self, rate: Fraction) -> None:
        self.rate = rate
        self.count = 0

    def next_fails(self) -> bool:
        self.count += 1
        n, rate = self.count, self.rate
        return (n * rate.numerator) // rate.denominator > ((n - 1) * rate.numerator) // rate.denominator


class Leak:
    """The ``leak`` fault: retain memory per request, touching every page so it counts in RSS."""

    def __init__(self, per_request: int = LEAK_BYTES_PER_REQUEST, cap: int = LEAK_CAP_BYTES) -> None:
        self.per_request = per_request
        self.cap = cap
        self.retained: list[bytearray] = []
        self.total = 0
        self._page_marks = b"\x01" * len(range(0, per_request, 4096))

    def grow(self) -> None:
        if self.total + self.per_request > self.cap:
            return
        chunk = bytearray(self.per_request)
        chunk[::4096] = self._page_marks  # write one byte per page: resident, not just reserved
        self.retained.append(chunk)
        self.total += self.per_request


@dataclass
class Undo:
    """Statements that restore the rows a fault changed, run in reverse order."""

    statements: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def run(self, conn: sqlite3.Connection) -> None:
        with conn:
            for sql, params in reversed(self.statements):
                conn.execute(sql, params)
        self.statements.clear()


def apply_bad_data(conn: sqlite3.Connection) -> Undo:
    """Add exactly the problems of ``BAD_DATA`` (rows in ``BAD_DATA_ROWS``); return how to take them back."""
    undo = Undo()
    base = BAD_ROW_ID_BASE
    with conn:
        undo.statements.append(("DELETE FROM order_items WHERE id >= ?", (base,)))
        undo.statements.append(("DELETE FROM products WHERE id >= ?", (base,)))
        # Three orphan order items: their orders do not exist.
        for offset, product_id in enumerate((3, 4, 5)):
            price = _scalar(conn, "SELECT price_cents FROM products WHERE id = ?", product_id)
            conn.execute(
                "INSERT INTO order_items (id, order_id, product_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?, ?)",
                (base + offset, base + offset, product_id, offset + 1, price),
            )
        # Two duplicate skus: copies of products 1 and 2 under new ids.
        for offset, product_id in enumerate((1, 2)):
            conn.execute(
                "INSERT INTO products (id, sku, name, category_id, price_cents, stock, created_at) "
                "SELECT ?, sku, name || ' (copy)', category_id, price_cents, stock, created_at FROM products WHERE id = ?",
                (base + offset, product_id),
            )
        _update(conn, undo, "products", "price_cents", (10, 20, 30, 40), lambda _old: None)
        _update(conn, undo, "customers", "email", (5, 15), lambda _old: None)
        for order_id, delta in zip((3, 6, 9, 12, 15), (1, 100, -50, 999, -1), strict=True):
            _update(conn, undo, "orders", "total_cents", (order_id,), lambda old, d=delta: old + d)
        _update(conn, undo, "orders", "created_at", (150,), lambda _old: _days_from_now(conn, 7))
        # Two negative quantities, inside orders whose stored totals are then kept right.
        for offset, order_id in enumerate((100, 200), start=3):
            conn.execute(
                "INSERT INTO order_items (id, order_id, product_id, quantity, unit_price_cents) "
                "SELECT ?, ?, id, -1, price_cents FROM products WHERE id = 7",
                (base + offset, order_id),
            )
            for column in ("total_cents", "item_count"):
                _update(conn, undo, "orders", column, (order_id,), lambda _old: None)
            conn.execute(
                "UPDATE orders SET total_cents = (SELECT SUM(quantity * unit_price_cents) FROM order_items "
                "WHERE order_id = orders.id), item_count = (SELECT SUM(quantity) FROM order_items "
                "WHERE order_id = orders.id) WHERE id = ?",
                (order_id,),
            )
    return undo


def _update(conn: sqlite3.Connection, undo: Undo, table: str, column: str, ids: Iterable[int], new: Any) -> None:
    for row_id in ids:
        old = _scalar(conn, f"SELECT {column} FROM {table} WHERE id = ?", row_id)
        undo.statements.append((f"UPDATE {table} SET {column} = ? WHERE id = ?", (old, row_id)))
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (new(old), row_id))


def _scalar(conn: sqlite3.Connection, sql: str, *params: Any) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _days_from_now(conn: sqlite3.Connection, days: int) -> str:
    return str(_scalar(conn, "SELECT strftime('%Y-%m-%d %H:%M:%S', 'now', ?)", f"+{days} days"))


def count_bad_data(conn: sqlite3.Connection) -> dict[str, int]:
    """Count each ``BAD_DATA`` problem with its documented query."""
    return {name: int(_scalar(conn, sql)) for name, sql in BAD_DATA_QUERIES.items()}
