"""One keep-alive HTTP/1.1 connection per virtual user: an asyncio ``BufferedProtocol`` with httptools.

The fast path (``Connection``) writes pre-encoded request bytes, parses responses with httptools'
C parser into a reused buffer (the stock ``Protocol`` allocates a fresh read buffer per call),
records the sample and tells its owner from the parser callback, which writes the next request
right there: no task, no future, no header objects per request. ``FlowConnection`` is the slower
path for flows and the smoke run: it collects status, headers and body into a ``Response``.
"""

from __future__ import annotations

import asyncio
import errno
import json as jsonlib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Protocol
from urllib.parse import urlsplit

import httptools

from pytest_prodgate.errors import ConfigError, ConnectFailed, RequestFailed
from pytest_prodgate.performance.recorder import ScenarioStats

__all__ = ["ConnectFailed", "Connection", "FlowConnection", "RequestFailed", "Response", "Target", "open_connection"]

BUFFER_SIZE = 64 * 1024
_NO_BUFFER = memoryview(bytearray(0))


class _Closed:
    """The callback object of the parser a lost connection keeps (it parses nothing more)."""


# A lost connection swaps its parser for this one: the parser holds the protocol's bound methods, so
# keeping it makes a cycle (connection -> parser -> method -> connection) that only the cyclic
# collector frees, with the 64 KB read buffer hanging from it. With a new connection per request
# (servers that close, the open model growing its pool) that was 64 KB per request until a full collection.
_CLOSED_PARSER = httptools.HttpResponseParser(_Closed())


class Owner(Protocol):  # pragma: no cover - typing only
    def on_response(self, conn: Connection, now: float) -> None: ...
    def on_lost(self, conn: Connection) -> None: ...


@dataclass(frozen=True)
class Target:
    """Where the load goes: host, port, TLS and the base path request paths are appended to."""

    url: str
    scheme: str
    host: str
    port: int
    base_path: str
    base_query: str
    host_header: str
    ssl_context: ssl.SSLContext | None

    @classmethod
    def parse(cls, url: str, verify: bool | str | ssl.SSLContext = True) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{url!r} is not an http(s) URL. Expected e.g. http://127.0.0.1:8000/")
        tls = parts.scheme == "https"
        try:
            port = parts.port or (443 if tls else 80)
        except ValueError:
            raise ConfigError(f"{url!r} has an invalid port") from None
        default = (tls and port == 443) or (not tls and port == 80)
        hostname = parts.hostname
        shown = f"[{hostname}]" if ":" in hostname else hostname
        host_header = shown if default else f"{shown}:{port}"
        return cls(
            url=url,
            scheme=parts.scheme,
            host=hostname,
            port=port,
            base_path=parts.path if parts.path == "/" else parts.path.rstrip("/"),
            base_query=parts.query,
            host_header=host_header,
            ssl_context=make_ssl_context(verify) if tls else None,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def make_ssl_context(verify: bool | str | ssl.SSLContext) -> ssl.SSLContext:
    """Verification on by default; ``False`` turns it off, a path names a CA bundle."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(verify))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"CA bundle {verify!r} cannot be loaded: {exc}", where="verify") from None


def describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message}"
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host: {exc.strerror}"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)


class Connection(asyncio.BufferedProtocol):
    """The fast path: the owner's ``on_response`` is called from the parser callback."""

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.buffer = memoryview(bytearray(BUFFER_SIZE))
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.in_flight = False
        self.stats: ScenarioStats | None = None
        self.ok: bytes = b""
        self.sent_at = 0.0  # latency origin: the scheduled time in the open model
        self.written_at = 0.0  # when the bytes were actually written (read timeouts count from here)
        self.closed = False
        self.user: Any = None  # whatever the owner wants to hang on the connection

    # asyncio protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        try:
            self.parser.feed_data(self.buffer[:nbytes])
        except httptools.HttpParserError as exc:
            self.fail("reset", f"malformed response: {exc}")

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.in_flight:
            self.fail_in_flight(
                "reset", describe_os_error(exc) if exc else "connection closed by the server before the response ended"
            )
        self.owner.on_lost(self)
        # Break the cycles (parser <-> protocol, transport <-> protocol) so reference counting frees
        # this connection and its read buffer now, not at the next full collection.
        self.parser = _CLOSED_PARSER
        self.transport = None
        self.buffer = _NO_BUFFER

    # httptools callbacks -------------------------------------------------------------------
    def on_message_complete(self) -> None:
        # drivers.LoopingConnection inlines the same recording on the hot path: change both together.
        now = perf_counter()
        stats = self.stats
        parser = self.parser
        status = parser.get_status_code()
        stats.latencies.append(int((now - self.sent_at) * 1e6))  # type: ignore[union-attr]
        stats.status[status] += 1  # type: ignore[union-attr]
        stats.requests += 1  # type: ignore[union-attr]
        if not self.ok[status]:
            stats.error("5xx" if status >= 500 else "4xx" if status >= 400 else "status", f"HTTP {status}")  # type: ignore[union-attr]
        self.in_flight = False
        if parser.should_keep_alive():
            self.owner.on_response(self, now)
        else:
            self.close()

    # used by owners ----------------------------------------------------------------------
    def send(self, data: bytes, stats: ScenarioStats, ok: bytes, sent_at: float, written_at: float) -> None:
        self.stats = stats
        self.ok = ok
        self.sent_at = sent_at
        self.written_at = written_at
        self.in_flight = True
        self.transport.write(data)  # type: ignore[union-attr]

    def fail_in_flight(self, kind: str, detail: str, now: float | None = None) -> None:
        """Count the request in flight as failed (``kind``); a timeout also records its latency so far."""
        self.in_flight = False
        stats = self.stats
        if stats is None:
            return
        stats.requests += 1
        if now is not None:
            stats.latencies.append(int((now - self.sent_at) * 1e6))
        stats.error(kind, detail)

    def fail(self, kind: str, detail: str, now: float | None = None) -> None:
        if self.in_flight:
            self.fail_in_flight(kind, detail, now)
        self.abort()

    def cut(self) -> None:
        """End the connection because the run ends: a request still in flight is counted as dropped."""
        if self.in_flight:
            self.in_flight = False
            if self.stats is not None:
                self.stats.dropped += 1
        self.abort()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.abort()


@dataclass
class Response:
    """A whole response, for flows and the smoke run."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    elapsed: float

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return default

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def ok(self) -> bool:
        return self.status < 400


class FlowConnection(Connection):
    """The slower path: collects a whole ``Response`` and resolves a future with it."""

    def __init__(self, owner: Owner | None = None) -> None:
        super().__init__(owner or _NoOwner())
        self.waiter: asyncio.Future[Response] | None = None
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._status_reason = ""

    def on_status(self, reason: bytes) -> None:
        self._status_reason = reason.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self._body.append(bytes(body))

    def on_message_complete(self) -> None:
        now = perf_counter()
        status = self.parser.get_status_code()
        response = Response(status, self._status_reason, self._headers, b"".join(self._body), now - self.sent_at)
        self._headers, self._body = [], []
        stats = self.stats
        if stats is not None:
            stats.latencies.append(int((now - self.sent_at) * 1e6))
            stats.status[status] += 1
            stats.requests += 1
            if not self.ok[status]:
                stats.error("5xx" if status >= 500 else "4xx" if status >= 400 else "status", f"HTTP {status}")
        self.in_flight = False
        if not self.parser.should_keep_alive():
            self.close()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def fail_in_flight(self, kind: str, detail: str, now: float | None = None) -> None:
        super().fail_in_flight(kind, detail, now)
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(RequestFailed(kind, detail))

    async def request(self, data: bytes, stats: ScenarioStats | None, ok: bytes, timeout: float) -> Response:
        """Send ``data`` and wait for the whole response (at most ``timeout`` seconds)."""
        if self.closed or self.transport is None:
            raise RequestFailed("reset", "connection is closed")
        loop = asyncio.get_running_loop()
        self.waiter = waiter = loop.create_future()
        now = perf_counter()
        self._headers, self._body = [], []
        self.send(data, stats, ok, now, now)  # type: ignore[arg-type]
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except asyncio.TimeoutError:
            self.waiter = None
            self.fail("timeout", f"no response within {timeout:g}s", perf_counter())
            raise RequestFailed("timeout", f"no response within {timeout:g}s") from None


class _NoOwner:
    def on_response(self, conn: Connection, now: float) -> None:
        pass

    def on_lost(self, conn: Connection) -> None:
        pass


async def open_connection(factory: Callable[[], Connection], target: Target, timeout: float) -> Connection:
    """Connect (and handshake TLS) within ``timeout``; raise ``ConnectFailed`` with the reason."""
    loop = asyncio.get_running_loop()
    try:
        _, conn = await asyncio.wait_for(
            loop.create_connection(
                factory,
                target.host,
                target.port,
                ssl=target.ssl_context,
                server_hostname=target.host if target.ssl_context else None,
            ),
            timeout,
        )
    except asyncio.TimeoutError:
        raise ConnectFailed(f"no connection to {target.address} within {timeout:g}s") from None
    except (OSError, ssl.SSLError) as exc:
        raise ConnectFailed(f"{describe_os_error(exc)} ({target.address})") from None
    return conn
