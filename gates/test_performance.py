"""Performance gates for the shop: latency, errors and throughput of the catalogue, and server memory.

A first, simple form: a bounded number of sequential requests timed with httpx. The load engine's
``load`` fixture (weighted scenarios, percentiles from HDR histograms) replaces it where available.
"""

from __future__ import annotations

import time

import httpx
import pytest

CATALOGUE = ["/", "/products", "/search?q=lamp", "/products/1", "/categories"]
ROUNDS = 10  # 50 requests in all: bounded in count; each has a timeout


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest.mark.performance(thresholds=["p95 < 200ms", "error_rate < 1%", "rps >= 10"])
def test_catalogue_responds_quickly(gate, base_url):
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(5.0, connect=2.0)) as client:
        for _ in range(ROUNDS):
            for path in CATALOGUE:
                sent = time.perf_counter()
                try:
                    response = client.get(path)
                    errors += response.status_code >= 500
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - started
    gate.record("p50", percentile(latencies, 0.50))
    gate.record("p95", percentile(latencies, 0.95))
    gate.record("requests", len(latencies))
    gate.record("error_rate", errors / len(latencies))
    gate.record("rps", len(latencies) / elapsed)


@pytest.mark.performance(thresholds=["growth_per_100 < 10MB"])
def test_server_memory_stays_flat(server_memory):
    # The server's resident memory (with its children) across 200 requests, after a warm-up.
    server_memory("/products", requests=200)
