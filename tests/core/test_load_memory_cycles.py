"""A run leaves no per-request garbage for the cyclic collector, even with a new connection per request.

A lost connection used to keep its parser (which holds the protocol's bound methods) and its
transport: a reference cycle per connection, with the 64 KB read buffer hanging from it, freed
only by a full collection. ``gc.DEBUG_SAVEALL`` shows what a run leaves in cycles.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator

import pytest

from pytest_prodgate.performance import Template, run_load
from pytest_prodgate.performance.connection import Connection
from tests.servers import MisbehavingServer


@pytest.fixture(scope="module")
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer().running() as running:
        yield running


def cycle_garbage(url: str, requests: int) -> Counter[str]:
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = run_load(url, [Template("/close-after", name="closing")], users=2, iterations=requests, smoke=False)
        gc.collect()
        assert result.figures["requests"] == requests and result.figures["errors"] == 0
        # The client's objects only: the test server's own transports (same process) are not the engine's.
        mine = ("HttpResponseParser", "managedbuffer")
        return Counter(type(o).__name__ for o in gc.garbage if isinstance(o, Connection) or type(o).__name__ in mine)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_connections_are_freed_without_the_cyclic_collector_when_the_server_closes_each_one(
    server: MisbehavingServer,
) -> None:
    before = server.connections
    left = cycle_garbage(server.url, 300)
    assert server.connections - before >= 300  # a connection per request, really
    # At most the users' last connections (held by the run's own structures) remain in cycles.
    assert left["LoopingConnection"] <= 2 and sum(left.values()) <= 2 * 3, left
