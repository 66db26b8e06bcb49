"""Probes against real local servers: retries, backoff, deadlines, timeouts, messages."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_prodgate.health import AsyncProbe, Probe, ProbeFailed, RetryPolicy
from pytest_prodgate.redact import Redactor
from tests.health_support import App, free_port, json_response, serve, silent_server

FAST = RetryPolicy(attempts=3, deadline=10, backoff=0.01, max_backoff=0.05)


def _recovers_after(n: int) -> App:
    """503 for the first ``n`` requests, then 200."""
    return App(lambda path, i: json_response(503 if i <= n else 200, {"status": "down" if i <= n else "ok"}))


def test_probe_returns_the_response_when_the_first_attempt_succeeds() -> None:
    with serve(App(lambda path, i: json_response(200, {"status": "ok"}))) as url:
        result = Probe(url, policy=FAST).get("/health", status=200, json=['status == "ok"'])
    assert result.status == 200
    assert [a.status for a in result.attempts] == [200]
    assert result.figures["attempts"] == 1 and result.figures["latency"] > 0


def test_probe_retries_then_succeeds_when_the_server_recovers() -> None:
    app = _recovers_after(2)
    with serve(app) as url:
        result = Probe(url, policy=FAST).get("/health/ready", status=200)
    assert [a.status for a in result.attempts] == [503, 503, 200]
    assert app.requests == 3
    assert result.attempts[0].offset == 0 and result.attempts[1].offset < result.attempts[2].offset


def test_probe_retries_retryable_statuses_when_no_expectation_is_given() -> None:
    with serve(_recovers_after(1)) as url:
        result = Probe(url, policy=FAST).get("/health/ready")
    assert [a.status for a in result.attempts] == [503, 200]


def test_probe_fails_with_the_connection_error_within_its_deadline_when_nothing_listens() -> None:
    policy = RetryPolicy(attempts=10_000, deadline=1.5, backoff=0.05, max_backoff=0.2)
    probe = Probe(f"http://127.0.0.1:{free_port()}", policy=policy)
    with pytest.raises(ProbeFailed) as caught:
        probe.get("/health")
    result = caught.value.result
    assert result is not None and result.response is None
    # Bounded by the deadline, not by the 10 000 attempts (over half an hour of backoff); a busy machine
    # may overshoot the deadline a little, never by minutes.
    assert result.total_time <= policy.deadline + 10
    assert result.stop_reason == "deadline of 1.5 s reached"
    assert {a.error for a in result.attempts} == {"connection refused"}
    message = str(caught.value)
    assert "/health: no response (connection refused)" in message.splitlines()[0]
    assert "last response: none (no attempt got an answer)" in message


def test_probe_fails_on_the_read_timeout_when_the_server_accepts_and_never_answers() -> None:
    policy = RetryPolicy(attempts=2, deadline=5, read_timeout=0.3, backoff=0.01)
    with silent_server() as port, pytest.raises(ProbeFailed) as caught:
        Probe(f"http://127.0.0.1:{port}", policy=policy).get("/health")
    result = caught.value.result
    assert result is not None
    assert [a.error for a in result.attempts] == ["read timeout", "read timeout"]
    assert all(0.25 <= a.latency < policy.deadline / 2 for a in result.attempts)  # cut by the read timeout
    assert "no response (read timeout)" in str(caught.value)


def test_read_timeout_is_cut_to_the_deadline_when_less_time_is_left() -> None:
    policy = RetryPolicy(attempts=5, deadline=0.6, read_timeout=30, backoff=0.01)
    with silent_server() as port, pytest.raises(ProbeFailed) as caught:
        Probe(f"http://127.0.0.1:{port}", policy=policy).get("/health")
    result = caught.value.result
    assert result is not None and result.total_time < 15  # cut to the deadline, far short of the 30 s read timeout
    assert result.attempts[0].error == "read timeout"


def test_wait_until_healthy_returns_when_the_server_becomes_ready_after_n_requests() -> None:
    app = _recovers_after(4)
    with serve(app) as url:
        result = Probe(url).wait_until_healthy("/health/ready", timeout="20s", interval="50ms")
    assert result.status == 200
    assert [a.status for a in result.attempts] == [503, 503, 503, 503, 200]


def test_wait_until_healthy_fails_with_the_history_when_never_ready() -> None:
    with serve(_recovers_after(10_000)) as url, pytest.raises(ProbeFailed) as caught:
        Probe(url).wait_until_healthy("/health/ready", timeout="1s", interval="100ms")
    message = str(caught.value)
    assert "status = 503, wanted 200" in message.splitlines()[0]
    assert "deadline of 1 s reached" in message.splitlines()[1]
    assert "last response: 503 Service Unavailable" in message


def test_wait_until_healthy_stops_early_when_interrupted_says_so() -> None:
    asked: list[int] = []

    def interrupted() -> str | None:
        asked.append(len(asked) + 1)
        return "SIGTERM" if len(asked) >= 3 else None

    with serve(_recovers_after(10_000)) as url, pytest.raises(ProbeFailed) as caught:
        Probe(url).wait_until_healthy("/health/ready", timeout="60s", interval="50ms", interrupted=interrupted)
    result = caught.value.result
    assert result is not None
    assert [a.status for a in result.attempts] == [503, 503, 503]
    assert result.stop_reason == "interrupted"


def test_async_wait_until_healthy_stops_early_when_interrupted_says_so() -> None:
    with serve(_recovers_after(10_000)) as url, pytest.raises(ProbeFailed) as caught:
        asyncio.run(
            AsyncProbe(url).wait_until_healthy("/health", timeout="60s", interval="50ms", interrupted=lambda: "SIGINT")
        )
    assert caught.value.result is not None and len(caught.value.result.attempts) == 1


def test_backoff_grows_exponentially_with_bounded_jitter_when_retrying() -> None:
    policy = RetryPolicy(backoff=0.1, multiplier=2, max_backoff=1.0, jitter=0.5)
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in range(6)]
    bases = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert all(base * 0.5 <= d <= base for d, base in zip(delays, bases, strict=True))
    assert len({round(d, 6) for d in delays}) == 6  # jittered: no two alike


def test_expectation_failure_names_every_missed_expectation_when_several_miss() -> None:
    def handler(path: str, i: int) -> tuple[int, list[tuple[str, str]], bytes]:
        time.sleep(0.02)
        return json_response(200, {"checks": {"database": {"status": "down"}}})

    with serve(App(handler)) as url:
        result = Probe(url, policy=FAST).get("/health/detailed")
        with pytest.raises(ProbeFailed) as caught:
            result.expect(
                status=200,
                json=['checks.database.status == "ok"', "checks.cache.status"],
                contains="healthy",
                headers={"x-version": ""},
                thresholds=["latency < 1ms"],
            )
    first = str(caught.value).splitlines()[0]
    assert 'checks.database.status = "down", wanted == "ok"' in first
    assert "checks.cache.status: no key 'cache' in checks (keys: database)" in first
    assert "body does not contain 'healthy'" in first
    assert "header x-version is missing" in first
    assert "latency = " in first and "wanted < 1 ms" in first
    assert [r.verdict.value for r in caught.value.results] == ["fail"]


def test_long_body_is_cut_and_secrets_masked_when_shown_in_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_API_TOKEN", "tok-9f8e7d6c")
    body = {"token": "tok-9f8e7d6c", "padding": "x" * 2000}
    with serve(App(lambda path, i: json_response(500, body, [("set-cookie", "sid=abc123; Secure")]))) as url:
        probe = Probe(url, policy=RetryPolicy(attempts=1), redactor=Redactor())
        with pytest.raises(ProbeFailed) as caught:
            probe.get("/health", status=200)
    message = str(caught.value)
    assert "tok-9f8e7d6c" not in message and "abc123" not in message
    assert "set-cookie: ********" in message
    body_line = next(line for line in message.splitlines() if "body (" in line)
    assert body_line.endswith("more bytes)") and len(body_line) < 600


def test_async_probe_retries_then_succeeds_when_the_server_recovers() -> None:
    with serve(_recovers_after(2)) as url:
        result = asyncio.run(AsyncProbe(url, policy=FAST).get("/health/ready", status=200))
    assert [a.status for a in result.attempts] == [503, 503, 200]


def test_async_probe_fails_within_its_deadline_when_nothing_listens() -> None:
    probe = AsyncProbe(f"http://127.0.0.1:{free_port()}", policy=RetryPolicy(attempts=1000, deadline=1, backoff=0.05))
    with pytest.raises(ProbeFailed) as caught:
        asyncio.run(probe.wait_until_healthy("/health", timeout="1s", interval="100ms"))
    assert caught.value.result is not None and caught.value.result.total_time < 10  # not 1000 attempts' worth
    assert "connection refused" in str(caught.value)


def test_probe_without_base_url_names_the_remedy_when_given_a_path() -> None:
    from pytest_prodgate.errors import ConfigError

    with pytest.raises(ConfigError, match="no base URL"):
        Probe(None).get("/health")


def test_health_core_imports_when_pytest_is_unavailable() -> None:
    import subprocess
    import sys

    modules = ["probes", "retry", "results", "jsonpath", "tls", "headers", "config", "declarative", "cli"]
    code = "import sys; sys.modules['pytest'] = None\n" + "\n".join(
        f"import pytest_prodgate.health.{m}" for m in modules
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


async def _trickle(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Headers at once, then one byte every 100 ms for 30 s: each read is quick, the body is not."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for _ in range(300):
        await send({"type": "http.response.body", "body": b"x", "more_body": True})
        await asyncio.sleep(0.1)
    await send({"type": "http.response.body", "body": b""})


def test_probe_stops_at_the_deadline_when_the_body_trickles_in() -> None:
    policy = RetryPolicy(attempts=1, deadline=0.8, read_timeout=5)
    with serve(_trickle) as url, pytest.raises(ProbeFailed) as caught:
        Probe(url, policy=policy).get("/slow")
    result = caught.value.result
    assert result is not None and result.total_time < 10  # the deadline ends it, not the 30 s body
    assert result.attempts[0].error == "read timeout"
    assert "deadline of 0.8 s reached while reading the body" in result.attempts[0].detail


def test_async_probe_stops_at_the_deadline_when_the_body_trickles_in() -> None:
    policy = RetryPolicy(attempts=1, deadline=0.8, read_timeout=5)
    with serve(_trickle) as url, pytest.raises(ProbeFailed) as caught:
        asyncio.run(AsyncProbe(url, policy=policy).get("/slow"))
    assert caught.value.result is not None and caught.value.result.attempts[0].error == "read timeout"


def test_probe_verifies_https_against_a_ca_bundle_and_names_the_tls_error_without_it(tmp_path: Path) -> None:
    import trustme

    from tests.health_support import tls_server

    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with tls_server(ca.issue_cert("127.0.0.1").configure_cert) as port:
        url = f"https://127.0.0.1:{port}"
        result = Probe(url, policy=FAST, verify=str(bundle)).get("/health", status=200, contains="ok")
        with pytest.raises(ProbeFailed) as caught:
            Probe(url, policy=RetryPolicy(attempts=1)).get("/health")
    assert result.status == 200
    assert caught.value.result is not None and caught.value.result.attempts[0].error == "TLS error"
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.result.attempts[0].detail
