"""Health gates for the shop: liveness, readiness, dependencies, security headers, TLS.

Kubernetes conventions: *liveness* says the process is alive and must not depend on the database
(or a database outage would restart every pod); *readiness* says whether to send traffic, and
answers 503 while a dependency it needs is down. The declarative endpoints in pyproject.toml's
``[tool.prodgate.health]`` add more gates without any Python.
"""

from __future__ import annotations

import pytest

DEPENDENCIES = ("database", "event_loop", "disk", "memory")


@pytest.mark.health(thresholds=["latency < 300ms"])
def test_liveness_answers_quickly(probe):
    probe.get("/health/live", status=200, json=['status == "ok"'])


@pytest.mark.health
def test_liveness_does_not_depend_on_the_database(probe):
    ready = probe.get("/health/ready", status=(200, 503), retries=0, name="ready")
    live = probe.get("/health/live", status=200, retries=0, name="live")
    # Whatever readiness says about the database (200 or 503), liveness answers 200 without looking at it.
    assert "database" not in live.text, f"liveness reports on the database: {live.text[:200]}"
    assert ready.status in (200, 503)


@pytest.mark.health(thresholds=["latency < 500ms"])
def test_readiness_accepts_traffic(probe):
    probe.get("/health/ready", status=200, json=['status == "ok"', 'checks.database.status == "ok"'])


@pytest.mark.health
def test_readiness_explains_a_503(probe):
    result = probe.get("/health/ready", status=(200, 503), retries=0)
    if result.status == 503:
        result.expect_json('status == "unavailable"', "reason", 'checks.database.status == "failing"')
    else:
        result.expect_json('status == "ok"')


@pytest.mark.health(thresholds=[f"{name}: latency < 100ms" for name in ("database", "disk")])
def test_detailed_health_reports_each_dependency(probe, gate):
    result = probe.get(
        "/health/detailed",
        status=200,
        json=[f'checks.{name}.status == "ok"' for name in DEPENDENCIES]
        + [f"checks.{name}.latency_ms >= 0" for name in DEPENDENCIES],
    )
    for name, check in result.json()["checks"].items():
        gate.record(f"{name}.latency", check["latency_ms"] / 1000)


@pytest.mark.health(thresholds=["total_time < 10s"])
def test_fresh_deploy_becomes_ready(probe):
    probe.wait_until_healthy("/health/ready", timeout="10s", interval="1s")


@pytest.mark.health
def test_security_headers_on_the_home_page(security_headers):
    security_headers.check("/")


@pytest.mark.health(thresholds=["days_left > 14"])
def test_tls_certificate(tls, base_url):
    if not base_url.startswith("https://"):
        pytest.skip(f"the target {base_url} is not served over https")
    tls.check()
