"""Each HTTP fault of the demo service, measured for real against a healthy one."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from pytest_prodgate.demo import DemoService

SECURITY_HEADERS = (
    "strict-transport-security",
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
)


def _start(*faults: str) -> DemoService:
    return DemoService.start(faults=faults, env={"PRODGATE_DEMO_FAULTS": "", "PRODGATE_DEMO_SLOW_MS": ""})


@pytest.fixture(scope="module")
def healthy() -> Iterator[DemoService]:
    with _start() as service:
        yield service


@pytest.fixture(scope="module")
def slow() -> Iterator[DemoService]:
    with _start("slow") as service:
        yield service


@pytest.fixture(scope="module")
def leaky() -> Iterator[DemoService]:
    with _start("leak") as service:
        yield service


def _latencies(base_url: str, path: str, count: int) -> list[float]:
    timings = []
    with httpx.Client(base_url=base_url, timeout=5.0) as client:
        client.get("/health")  # connect first: time the request, not the handshake
        for _ in range(count):
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            timings.append(time.perf_counter() - started)
    return timings


def test_catalogue_is_300ms_slower_when_the_slow_fault_is_on(healthy: DemoService, slow: DemoService) -> None:
    slowed = _latencies(slow.base_url, "/products", 5)
    normal = _latencies(healthy.base_url, "/products", 5)
    assert min(slowed) >= 0.3  # the fault's sleep is a floor
    # Medians against medians: whatever a busy machine adds, it adds to both.
    assert statistics.median(slowed) - statistics.median(normal) > 0.2
    for path in ("/", "/search?q=tea", "/products/1", "/categories", "/categories/tea"):
        assert min(_latencies(slow.base_url, path, 1)) >= 0.3, path


def test_health_endpoints_stay_fast_when_the_slow_fault_is_on(slow: DemoService) -> None:
    for path in ("/health", "/health/live", "/health/ready", "/version"):
        assert statistics.median(_latencies(slow.base_url, path, 3)) < 0.3, path


def test_exactly_a_fifth_of_catalogue_requests_fail_when_the_errors_fault_is_on() -> None:
    with _start("errors") as service, httpx.Client(base_url=service.base_url, timeout=5.0) as client:
        statuses = [client.get("/products").status_code for _ in range(50)]
        assert statuses.count(500) == 10
        assert statuses.count(200) == 40
        assert [i for i, status in enumerate(statuses, start=1) if status == 500] == list(range(5, 51, 5))
        health = [
            client.get(path).status_code for path in ("/health", "/health/live", "/health/ready") for _ in range(5)
        ]
        assert set(health) == {200}


def test_errors_follow_the_configured_rate_when_the_env_sets_it() -> None:
    env = {"PRODGATE_DEMO_FAULTS": "errors", "PRODGATE_DEMO_ERROR_RATE": "50%"}
    with DemoService.start(env=env) as service, httpx.Client(base_url=service.base_url, timeout=5.0) as client:
        statuses = [client.get("/categories").status_code for _ in range(20)]
        assert statuses.count(500) == 10
        assert statuses[1::2] == [500] * 10


def test_readiness_fails_but_liveness_holds_when_the_not_ready_fault_is_on() -> None:
    with _start("not-ready") as service, httpx.Client(base_url=service.base_url, timeout=5.0) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable"
        assert body["reason"].startswith("database: unable to open database file")
        assert body["checks"]["database"]["status"] == "failing"
        assert client.get("/health/live").status_code == 200
        detailed = client.get("/health/detailed")
        assert detailed.status_code == 503
        assert detailed.json()["status"] == "failing"
        assert detailed.json()["checks"]["database"]["status"] == "failing"
        assert detailed.json()["checks"]["disk"]["status"] == "ok"
        assert client.get("/products").status_code == 200


def test_no_security_headers_or_cookie_flags_when_that_fault_is_on(healthy: DemoService) -> None:
    with _start("no-security-headers") as service, httpx.Client(base_url=service.base_url, timeout=5.0) as client:
        for path in ("/", "/products", "/health", "/nope"):
            headers = client.get(path).headers
            assert [name for name in SECURITY_HEADERS if name in headers] == [], path
        cookie = client.get("/").headers["set-cookie"]
        assert cookie.startswith("session=")
        assert not {"Secure", "HttpOnly", "SameSite=Lax"} & {part.strip() for part in cookie.split(";")}
    present = httpx.get(healthy.base_url + "/", timeout=5.0).headers
    assert [name for name in SECURITY_HEADERS if name in present] == list(SECURITY_HEADERS)


def _rss_growth(service: DemoService, requests: int) -> int:
    process = psutil.Process(service.pid)
    with httpx.Client(base_url=service.base_url, timeout=5.0) as client:
        for _ in range(20):  # warm up allocators and caches first
            client.get("/health/live")
        before = process.memory_info().rss
        for index in range(requests):
            client.get("/products" if index % 2 else "/health/live")
        return process.memory_info().rss - before


def test_memory_grows_about_20mb_per_100_requests_when_the_leak_fault_is_on(leaky: DemoService) -> None:
    growth = _rss_growth(leaky, 100)
    assert growth >= 10 * 1024**2, f"grew {growth / 1024**2:.1f} MB"


def test_memory_stays_flat_over_100_requests_when_healthy(healthy: DemoService) -> None:
    growth = _rss_growth(healthy, 100)
    assert growth < 5 * 1024**2, f"grew {growth / 1024**2:.1f} MB"
