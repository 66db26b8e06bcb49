"""Real servers for the load tests: a small asyncio HTTP/1.1 server with misbehaviours, and uvicorn.

Each runs on 127.0.0.1 and a free port in a thread of its own (its own event loop), so the engine
under test runs in the test's thread exactly as users run it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.waiting import wait_for

REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved",
    404: "Not Found",
    418: "I'm a teapot",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MisbehavingServer:
    """HTTP/1.1 keep-alive server. Routes:

    ``/`` 200 ``hello``; ``/delay?ms=N``; ``/status/CODE``; ``/chunked``; ``/close`` (closes mid-body);
    ``/close-after`` (``Connection: close``); ``/hang`` (never answers); ``/stall`` (answers at once,
    except that everything waits while the server stalls ``stall`` seconds every ``period``);
    ``/cookie`` sets ``session=abc``; ``/whoami`` echoes the Cookie header; ``/echo`` echoes the body.
    """

    def __init__(
        self, tls: ssl.SSLContext | None = None, stall: float = 1.0, period: float = 5.0, stall_offset: float = 2.0
    ) -> None:
        self.tls = tls
        self.stall, self.period, self.stall_offset = stall, period, stall_offset
        self.port = free_port()
        self.requests = 0
        self.connections = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = threading.Event()
        self.t0 = 0.0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    # serving ---------------------------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                self.requests += 1
                keep = await self.respond(writer, method, target, headers, body)
                if not keep:
                    return
        except (ConnectionError, asyncio.CancelledError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()

    def stall_remaining(self) -> float:
        position = (time.monotonic() - self.t0) % self.period
        if self.stall_offset <= position < self.stall_offset + self.stall:
            return self.stall_offset + self.stall - position
        return 0.0

    async def respond(
        self, writer: asyncio.StreamWriter, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> bool:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        status, extra, payload = 200, [], b"hello"
        if path == "/delay":
            await asyncio.sleep(float(query.get("ms", ["50"])[0]) / 1000)
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            payload = b"status " + str(status).encode()
        elif path == "/chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n")
            for piece in (b"chunk-one ", b"chunk-two ", b"end"):
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        elif path == "/close":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            await writer.drain()
            return False
        elif path == "/close-after":
            extra.append(("Connection", "close"))
        elif path == "/hang":
            await asyncio.sleep(3600)
        elif path == "/stall":
            wait = self.stall_remaining()
            if wait:
                await asyncio.sleep(wait)
        elif path == "/cookie":
            extra.append(("Set-Cookie", "session=abc; Path=/"))
        elif path == "/whoami":
            payload = json.dumps({"cookie": headers.get("cookie")}).encode()
            extra.append(("Content-Type", "application/json"))
        elif path == "/echo":
            payload = json.dumps(
                {"method": method, "body": body.decode(), "type": headers.get("content-type")}
            ).encode()
            extra.append(("Content-Type", "application/json"))
        elif path == "/secret":
            status = 500
            extra.append(("Set-Cookie", "token=supersecret"))
            payload = b"boom " * 300
        elif path != "/":
            status, payload = 404, b"not found"
        head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Length: {len(payload)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in extra)
        writer.write(head.encode() + b"\r\n" + payload)
        await writer.drain()
        return not any(k == "Connection" for k, _ in extra)

    async def _main(self, stop: asyncio.Event) -> None:
        server = await asyncio.start_server(self.handle, "127.0.0.1", self.port, ssl=self.tls, backlog=1024)
        self.t0 = time.monotonic()
        self.started.set()
        async with server:
            await stop.wait()
            server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

    @contextmanager
    def running(self) -> Iterator[MisbehavingServer]:
        loop = asyncio.new_event_loop()
        self.loop = loop
        stop = asyncio.Event()
        thread = threading.Thread(target=lambda: loop.run_until_complete(self._main(stop)), daemon=True)
        thread.start()
        if not self.started.wait(60):
            raise RuntimeError("test server did not start")
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(5)
            loop.close()


async def fixed_delay_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A uvicorn (ASGI) app: ``/delay`` answers after 50 ms, anything else at once."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/delay":
        await asyncio.sleep(0.05)
    body = b'{"ok": true}'
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def uvicorn_server(app: Any = fixed_delay_app) -> Iterator[str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), interval=0.01, what="uvicorn starting")
    if not server.started:
        raise RuntimeError("uvicorn stopped before it started")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def tls_server_context(ca: Any) -> ssl.SSLContext:
    """A server-side TLS context with a trustme certificate for 127.0.0.1."""
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context
