"""The demo shop as a raw ASGI application: catalogue, version and health endpoints, and the faults.

No web framework: a dict of routes, precomputed static bodies and header lists, SQLite read queries
on one connection in the event loop thread (each takes tens of microseconds), and their encoded
answers kept until the data changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import secrets
import shutil
import sqlite3
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import psutil

from pytest_prodgate.demo import faults as f
from pytest_prodgate.demo.db import Catalogue
from pytest_prodgate.demo.state import CHECK_INTERVAL, Release, StateFile
from pytest_prodgate.errors import ProdgateError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Response = tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]  # status, body, content type, extra headers

JSON = b"application/json"
HTML = b"text/html; charset=utf-8"
SECURITY_HEADERS = [
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (
        b"content-security-policy",
        (
            b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            b"form-action 'self'; frame-ancestors 'none'"
        ),
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
COOKIE_FLAGS_SECURE = b"; Path=/; Secure; HttpOnly; SameSite=Lax"
COOKIE_FLAGS_PLAIN = b"; Path=/"
ALLOW = [(b"allow", b"GET, HEAD")]
MAX_PER_PAGE = 100
DISK_FREE_MINIMUM = 50 * 1024**2
MEMORY_MAXIMUM = 1024**3
LOOP_LAG_MAXIMUM = 0.1


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


HEALTH_OK = dumps({"status": "ok"})
NOT_FOUND = dumps({"error": "not found"})
METHOD_NOT_ALLOWED = dumps({"error": "method not allowed; use GET or HEAD"})
INTERNAL_ERROR = dumps({"error": "internal server error"})


class BadRequest(ProdgateError):
    """A client mistake answered with 400 and the message (local to the demo's request handling)."""


class BodyCache:
    """Encoded catalogue answers, dropped whenever the data changes.

    ``PRAGMA data_version`` (a few microseconds) moves when another connection commits, e.g. a test
    editing the demo's database; the app calls ``clear()`` after its own changes (bad-data).
    """

    def __init__(self, conn: sqlite3.Connection, limit: int = 2048) -> None:
        self.conn = conn
        self.limit = limit
        self.entries: dict[tuple[Any, ...], tuple[int, bytes]] = {}
        self.data_version: int | None = None

    def get(self, key: tuple[Any, ...], build: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
        data_version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if data_version != self.data_version:
            self.entries.clear()
            self.data_version = data_version
        entry = self.entries.get(key)
        if entry is None:
            if len(self.entries) >= self.limit:
                self.entries.clear()
            entry = self.entries[key] = build()
        return entry

    def clear(self) -> None:
        self.entries.clear()


class DemoApp:
    """The ASGI callable. ``state`` decides version and faults; ``catalogue`` answers the queries."""

    def __init__(self, catalogue: Catalogue, state: StateFile, tuning: f.FaultTuning | None = None) -> None:
        self.catalogue = catalogue
        self.state = state
        self.tuning = tuning or f.FaultTuning()
        self.errors = f.ErrorCounter(self.tuning.error_rate)
        self.leak = f.Leak()
        self.bad_data_undo: f.Undo | None = None
        self.bodies = BodyCache(catalogue.conn)
        self.started = time.monotonic()
        self._process = psutil.Process()
        self._watcher: asyncio.Task[None] | None = None
        self._versions: dict[str, tuple[bytes, bytes]] = {}
        self.routes: dict[str, tuple[Callable[[Scope], Awaitable[Response]], bool]] = {
            "/": (self.home, True),
            "/products": (self.products, True),
            "/search": (self.search, True),
            "/categories": (self.categories, True),
            "/version": (self.version, False),
            "/health": (self.health, False),
            "/health/live": (self.health, False),
            "/health/ready": (self.ready, False),
            "/health/detailed": (self.detailed, False),
        }
        self.apply_release(state.release)

    # -- faults that change the data ---------------------------------------------------------
    def apply_release(self, release: Release) -> None:
        """Bring the database in line with the release: bad-data applied on entry, undone on exit."""
        wanted = f.BAD_DATA_FAULT in release.faults
        if wanted and self.bad_data_undo is None:
            self.bad_data_undo = f.apply_bad_data(self.catalogue.conn)
        elif not wanted and self.bad_data_undo is not None:
            self.bad_data_undo.run(self.catalogue.conn)
            self.bad_data_undo = None
        self.bodies.clear()

    async def watch_state(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL)  # the sleep is the throttle: check() stats the file now
            try:
                if self.state.check():
                    self.apply_release(self.state.release)
            except Exception:  # noqa: BLE001 - keep serving; the next change is tried again
                traceback.print_exc(file=sys.stderr)

    # -- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._watcher = asyncio.create_task(self.watch_state())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._watcher is not None:
                    self._watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._watcher
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, scope: Scope, send: Send) -> None:
        faults = self.state.release.faults
        if f.LEAK in faults:
            self.leak.grow()
        response = await self.respond(scope, faults)
        status, body, content_type, extra = response
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
        if f.NO_SECURITY_HEADERS not in faults:
            headers.extend(SECURITY_HEADERS)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def respond(self, scope: Scope, faults: frozenset[str]) -> Response:
        path: str = scope["path"]
        route = self.routes.get(path)
        if route is None:
            if path.startswith("/products/"):
                route = (self.product, True)
            elif path.startswith("/categories/"):
                route = (self.category, True)
            else:
                return 404, NOT_FOUND, JSON, []
        if scope["method"] not in ("GET", "HEAD"):
            return 405, METHOD_NOT_ALLOWED, JSON, ALLOW
        handler, catalogue = route
        if catalogue:
            if f.SLOW in faults and self.tuning.slow_seconds > 0:
                await asyncio.sleep(self.tuning.slow_seconds)
            if f.ERRORS in faults and self.errors.next_fails():
                return 500, INTERNAL_ERROR, JSON, []
        try:
            return await handler(scope)
        except BadRequest as exc:
            return 400, dumps({"error": str(exc)}), JSON, []
        except Exception:  # noqa: BLE001 - a bug answers 500 and is logged; the server keeps serving
            traceback.print_exc(file=sys.stderr)
            return 500, INTERNAL_ERROR, JSON, []

    # -- catalogue -----------------------------------------------------------------------------
    async def home(self, scope: Scope) -> Response:
        version = self.state.release.version
        body, _ = self._version_bodies(version)
        secure = f.NO_SECURITY_HEADERS not in self.state.release.faults
        cookie = (
            b"session=" + secrets.token_urlsafe(18).encode() + (COOKIE_FLAGS_SECURE if secure else COOKIE_FLAGS_PLAIN)
        )
        return 200, body, HTML, [(b"set-cookie", cookie)]

    async def products(self, scope: Scope) -> Response:
        query = _query(scope)
        page = _positive_int(query, "page", 1)
        per_page = min(_positive_int(query, "per_page", 20), MAX_PER_PAGE)

        def build() -> tuple[int, bytes]:
            total, items = self.catalogue.products(page, per_page)
            return 200, dumps({"page": page, "per_page": per_page, "total": total, "items": items})

        return self._cached(("products", page, per_page), build)

    async def search(self, scope: Scope) -> Response:
        text = _query(scope).get("q", [""])[0].strip()
        if not text:
            raise BadRequest("query parameter 'q' is required, e.g. /search?q=espresso")

        def build() -> tuple[int, bytes]:
            items = self.catalogue.search(text)
            return 200, dumps({"query": text, "count": len(items), "items": items})

        return self._cached(("search", text), build)

    async def product(self, scope: Scope) -> Response:
        raw = scope["path"][len("/products/") :]

        def build() -> tuple[int, bytes]:
            product = self.catalogue.product(int(raw)) if raw.isdigit() and len(raw) < 12 else None
            if product is None:
                return 404, dumps({"error": "product not found", "id": raw})
            return 200, dumps(product)

        return self._cached(("product", raw), build)

    async def categories(self, scope: Scope) -> Response:
        return self._cached(("categories",), lambda: (200, dumps({"items": self.catalogue.categories()})))

    async def category(self, scope: Scope) -> Response:
        slug = scope["path"][len("/categories/") :]

        def build() -> tuple[int, bytes]:
            found = self.catalogue.category(slug)
            if found is None:
                return 404, dumps({"error": "category not found", "slug": slug})
            category, items = found
            return 200, dumps({"category": category, "count": len(items), "items": items})

        return self._cached(("category", slug), build)

    def _cached(self, key: tuple[Any, ...], build: Callable[[], tuple[int, bytes]]) -> Response:
        status, body = self.bodies.get(key, build)
        return status, body, JSON, []

    # -- version and health --------------------------------------------------------------------
    async def version(self, scope: Scope) -> Response:
        return 200, self._version_bodies(self.state.release.version)[1], JSON, []

    def _version_bodies(self, version: str) -> tuple[bytes, bytes]:
        """The home page and /version body of a version, built once per version."""
        bodies = self._versions.get(version)
        if bodies is None:
            bodies = (_home_page(version), dumps({"version": version}))
            self._versions[version] = bodies
        return bodies

    async def health(self, scope: Scope) -> Response:
        return 200, HEALTH_OK, JSON, []

    async def ready(self, scope: Scope) -> Response:
        check = self.check_database()
        if check["status"] == "ok":
            return 200, dumps({"status": "ok", "checks": {"database": check}}), JSON, []
        reason = f"database: {check['error']}"
        return 503, dumps({"status": "unavailable", "reason": reason, "checks": {"database": check}}), JSON, []

    async def detailed(self, scope: Scope) -> Response:
        checks = {
            "database": self.check_database(),
            "event_loop": await self.check_event_loop(),
            "disk": self.check_disk(),
            "memory": self.check_memory(),
        }
        if self.state.path is not None:
            checks["state_file"] = self.check_state_file()
        healthy = all(check["status"] == "ok" for check in checks.values())
        data = {
            "status": "ok" if healthy else "failing",
            "version": self.state.release.version,
            "uptime_seconds": round(time.monotonic() - self.started, 3),
            "checks": checks,
        }
        return (200 if healthy else 503), dumps(data), JSON, []

    def check_database(self) -> dict[str, Any]:
        """``SELECT 1`` on the shop's database. With not-ready, the check's database path leads nowhere."""
        started = time.perf_counter()
        try:
            if f.NOT_READY in self.state.release.faults:
                unreachable = self.catalogue.path.with_name(self.catalogue.path.name + ".unreachable") / "shop.db"
                with contextlib.closing(sqlite3.connect(f"file:{unreachable}?mode=ro", uri=True)) as conn:
                    conn.execute("SELECT 1")
            else:
                self.catalogue.ping()
        except sqlite3.Error as exc:
            return {"status": "failing", "latency_ms": _ms_since(started), "error": str(exc)}
        return {"status": "ok", "latency_ms": _ms_since(started)}

    async def check_event_loop(self) -> dict[str, Any]:
        """How long the event loop takes to come back to us: high when something blocks it."""
        started = time.perf_counter()
        await asyncio.sleep(0)
        lag = time.perf_counter() - started
        return {"status": "ok" if lag < LOOP_LAG_MAXIMUM else "failing", "latency_ms": round(lag * 1000, 3)}

    def check_disk(self) -> dict[str, Any]:
        started = time.perf_counter()
        free = shutil.disk_usage(self.catalogue.path.parent).free
        status = "ok" if free >= DISK_FREE_MINIMUM else "failing"
        return {"status": status, "latency_ms": _ms_since(started), "free_bytes": free}

    def check_memory(self) -> dict[str, Any]:
        started = time.perf_counter()
        rss = self._process.memory_info().rss
        status = "ok" if rss < MEMORY_MAXIMUM else "failing"
        return {"status": status, "latency_ms": _ms_since(started), "rss_bytes": rss}

    def check_state_file(self) -> dict[str, Any]:
        started = time.perf_counter()
        error = self.state.error
        check: dict[str, Any] = {"status": "ok" if error is None else "failing", "latency_ms": _ms_since(started)}
        if error is not None:
            check["error"] = error
        return check


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _query(scope: Scope) -> dict[str, list[str]]:
    raw: bytes = scope.get("query_string", b"")
    return parse_qs(raw.decode("latin-1")) if raw else {}


def _positive_int(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    raw = values[0]
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise BadRequest(f"query parameter {name!r} must be a positive integer, got {raw!r}")
    return int(raw)


def _home_page(version: str) -> bytes:
    links = "".join(
        f'<li><a href="{href}">{label}</a></li>'
        for href, label in (
            ("/products", "All products"),
            ("/categories", "Categories"),
            ("/search?q=espresso", "Search: espresso"),
            ("/health/detailed", "Health"),
        )
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Prodgate demo shop</title></head>'
        f"<body><h1>Prodgate demo shop</h1><p>Version {html.escape(version)}</p><ul>{links}</ul></body></html>"
    ).encode()
