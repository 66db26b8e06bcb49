"""Waiting until a health URL answers 2xx: bounded in time, one short timeout per request."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from pytest_prodgate.redact import mask_url

__all__ = ["HealthWait", "wait_until_healthy"]


@dataclass(frozen=True)
class HealthWait:
    url: str
    healthy: bool
    attempts: int
    duration: float
    last: str  # "200", "503", or the connection error

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
    request_timeout: float = 5.0,
    interrupted: Callable[[], str | None] = lambda: None,
) -> HealthWait:
    """Poll ``url`` until a 2xx answer, at most ``timeout`` seconds (and at most one request per ``interval``)."""
    start = time.monotonic()
    deadline = start + timeout
    attempts = 0
    last = "not tried"
    max_attempts = int(timeout / max(interval, 0.01)) + 2
    with httpx.Client(timeout=min(request_timeout, max(timeout, 0.1)), follow_redirects=False) as client:
        while attempts < max_attempts:
            attempts += 1
            try:
                response = client.get(url)
                last = str(response.status_code)
                if 200 <= response.status_code < 300:
                    return HealthWait(url, True, attempts, time.monotonic() - start, last)
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if interrupted() or time.monotonic() + interval > deadline:
                break
            time.sleep(interval)
    return HealthWait(url, False, attempts, time.monotonic() - start, last)
