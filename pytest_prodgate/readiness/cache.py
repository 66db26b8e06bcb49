"""Cache readiness (the ``redis`` extra): Redis reachable, PING answered under a latency threshold."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from pytest_prodgate.readiness.result import Finding, ReadinessResult, build_result
from pytest_prodgate.redact import Redactor, mask_url

__all__ = ["DEFAULT_THRESHOLDS", "check_redis"]

DEFAULT_THRESHOLDS = ("latency < 100ms",)


def check_redis(
    url: str = "redis://127.0.0.1:6379/0",
    *,
    timeout: float = 2.0,
    pings: int = 3,
    thresholds: Sequence[str] = DEFAULT_THRESHOLDS,
    waivers: Mapping[str, str] | None = None,
) -> ReadinessResult:
    """Connect to Redis and PING ``pings`` times; figure ``latency`` is the slowest PING (seconds)."""
    import redis

    shown = mask_url(url)
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    password = client.connection_pool.connection_kwargs.get("password")
    redactor = Redactor(values=[str(password)] if password else [], env={})
    latencies: list[float] = []
    started = time.perf_counter()
    try:
        for _ in range(max(1, min(pings, 100))):
            began = time.perf_counter()
            client.ping()
            latencies.append(time.perf_counter() - began)
    except redis.RedisError as exc:
        elapsed = time.perf_counter() - started
        finding = Finding("redis.unreachable", f"{shown} unreachable after {elapsed * 1000:.0f} ms: {exc}")
        return build_result("redis", [finding], {"elapsed": elapsed}, waivers=waivers, redactor=redactor)
    finally:
        client.close()
    latency = max(latencies)
    summary = f"{shown} answered {len(latencies)} PING(s), slowest {latency * 1000:.2f} ms"
    return build_result(
        "redis", [], {"latency": latency}, thresholds=thresholds, waivers=waivers, summary=summary, redactor=redactor
    )
