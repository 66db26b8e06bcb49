"""ASGI targets for the peer benchmarks, served by uvicorn (httptools, uvloop) in their own process.

- ``app``: ``GET /`` answers ``ok`` at once (the "uvicorn app" target), ``GET /delay`` after a fixed
  50 ms (the accuracy check).
- ``stalling_app``: answers ``ok`` at once, except that the whole server stops for 1 s every 5 s (the
  event loop is blocked, like a stop-the-world pause), the honesty check's target.

Run: ``python -m uvicorn benchmarks.targets:app --port 8000 --loop uvloop --http httptools``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

DELAY = 0.050
STALL_EVERY = 5.0
STALL_FOR = 1.0
HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"2")]


async def _ok(send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b"ok"})


async def _lifespan(receive: Receive, send: Send, on_start: Callable[[], None] | None = None) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if on_start is not None:
                on_start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["path"] == "/delay":
        await asyncio.sleep(DELAY)
    await _ok(send)


async def _stall_forever() -> None:
    while True:
        await asyncio.sleep(STALL_EVERY - STALL_FOR)
        time.sleep(STALL_FOR)  # blocks the event loop: nothing is accepted, read or answered


_stalls: list[asyncio.Task[None]] = []


def _start_stalling() -> None:
    _stalls.append(asyncio.get_running_loop().create_task(_stall_forever()))


async def stalling_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        try:
            await _lifespan(receive, send, _start_stalling)
        finally:
            for task in _stalls:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return
    await _ok(send)
