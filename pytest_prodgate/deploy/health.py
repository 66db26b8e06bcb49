"""Waiting until a health URL answers 2xx, with the health family's probe (``Probe.wait_until_healthy``).

The probe bounds the wait (a deadline, a timeout per request, a spacing between attempts); this
module only asks it for any 2xx answer, lets a signal end the wait, and keeps what the deployment
record shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_prodgate.errors import ProbeFailed
from pytest_prodgate.health.probes import Probe
from pytest_prodgate.health.results import ProbeResult
from pytest_prodgate.redact import mask_url

__all__ = ["HealthWait", "wait_until_healthy"]

ANY_2XX = range(200, 300)


@dataclass(frozen=True)
class HealthWait:
    url: str
    healthy: bool
    attempts: int
    duration: float
    last: str  # "200", "503", or what went wrong with the last request ("connection refused")

    @classmethod
    def from_probe(cls, url: str, result: ProbeResult, healthy: bool) -> HealthWait:
        last = result.attempts[-1].outcome if result.attempts else "not tried"
        return cls(url, healthy, len(result.attempts), result.total_time, last)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": mask_url(self.url),
            "healthy": self.healthy,
            "attempts": self.attempts,
            "duration": round(self.duration, 3),
            "last": self.last,
        }


def wait_until_healthy(
    url: str,
    *,
    timeout: float,
    interval: float = 0.5,
    interrupted: Callable[[], object] | None = None,
) -> HealthWait:
    """Probe ``url`` until a 2xx answer, at most ``timeout`` seconds, about one request per ``interval``."""
    try:
        result = Probe().wait_until_healthy(
            url, timeout=timeout, interval=interval, status=ANY_2XX, interrupted=interrupted
        )
    except ProbeFailed as failed:
        if failed.result is None:  # pragma: no cover - a probe always fails with its result
            raise
        return HealthWait.from_probe(url, failed.result, healthy=False)
    return HealthWait.from_probe(url, result, healthy=True)
