"""From async code: ``arun_load`` runs on its own loop in a thread, so the caller's loop stays free."""

from __future__ import annotations

import asyncio

import pytest

from pytest_prodgate.performance import arun_load, run_load
from tests.servers import MisbehavingServer


@pytest.mark.asyncio
async def test_arun_completes_when_the_target_is_served_on_the_callers_loop() -> None:
    handler = MisbehavingServer()
    server = await asyncio.start_server(handler.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await arun_load(f"http://127.0.0.1:{port}/", users=2, iterations=100)
    finally:
        server.close()
        await server.wait_closed()
    assert result.figures["requests"] == 100
    assert handler.requests == 101  # and the smoke request


@pytest.mark.asyncio
async def test_the_sync_call_works_when_a_loop_is_running() -> None:
    with MisbehavingServer().running() as server:
        result = run_load(server.url, users=2, iterations=50)
    assert result.figures["requests"] == 50
