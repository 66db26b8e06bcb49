"""Performance gates for the shop: the weighted catalogue under load, and server memory.

The traffic mix is the shop's: home 30%, search 25%, product detail 20%, listing 15%, category 10%.
"""

from __future__ import annotations

import pytest

from pytest_prodgate.performance import shop_scenarios


@pytest.mark.performance(thresholds=["growth_per_100 < 10MB"])
def test_server_memory_stays_flat(server_memory):
    # First in this module: the load test below sends thousands of requests, and a leaking server
    # that reached its limit would then show no growth at all.
    # The server's resident memory (with its children) across 200 requests, after a warm-up.
    server_memory("/products", requests=200)


@pytest.mark.performance(
    thresholds=["p95 < 200ms", "error_rate < 1%", "rps >= 10", "search: p95 < 300ms"],
)
def test_catalogue_responds_quickly(load):
    # 10 virtual users for 3 s: bounded in time; every request has connect and read timeouts.
    # No smoke run: a broken shop should fail on its figures, not on a first request.
    load.run(shop_scenarios(), users=10, duration="3s", smoke=False)
