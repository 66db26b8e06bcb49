"""How hard a probe tries, and what went wrong with an attempt.

``RetryPolicy`` bounds a probe twice, by attempts and by an overall deadline, and spaces the
attempts with exponential backoff and jitter; ``error_kind`` names a failed attempt's cause in a
few words (``connection refused``, ``read timeout``, ``TLS error``).
"""

from __future__ import annotations

import random
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.thresholds import parse_duration

__all__ = ["MAX_ATTEMPTS", "MIN_ATTEMPT_TIME", "RetryPolicy", "error_detail", "error_kind"]

# Hard bounds, whatever the configuration says: every loop is bounded in count and time.
MAX_ATTEMPTS = 10_000
MIN_ATTEMPT_TIME = 0.05  # an attempt with less time left than this is not started


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a probe tries: ``attempts`` in all, within ``deadline`` seconds, backing off between them.

    The n-th retry waits ``min(max_backoff, backoff * multiplier**n)``, minus a random share of up
    to ``jitter`` of it (so many probes restarting together do not march in step).
    """

    attempts: int = 3
    deadline: float = 30.0
    backoff: float = 0.2
    max_backoff: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.5
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= MAX_ATTEMPTS:
            raise ConfigError(f"attempts must be between 1 and {MAX_ATTEMPTS}, got {self.attempts}")
        for name in ("deadline", "connect_timeout", "read_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be a positive duration, got {getattr(self, name)}")
        if self.backoff < 0 or self.max_backoff < 0 or self.multiplier < 1 or not 0 <= self.jitter <= 1:
            raise ConfigError("backoff and max_backoff must be >= 0, multiplier >= 1 and jitter between 0 and 1")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], base: RetryPolicy | None = None) -> RetryPolicy:
        """Read ``retries``, ``deadline``, ``timeout``, ``connect_timeout``, ``read_timeout``, ``backoff``, ``max_backoff``."""
        policy = base or cls()
        changes: dict[str, Any] = {}
        if "retries" in settings:
            changes["attempts"] = int(settings["retries"]) + 1
        if "timeout" in settings:
            changes["connect_timeout"] = changes["read_timeout"] = parse_duration(settings["timeout"])
        for key in ("deadline", "connect_timeout", "read_timeout", "backoff", "max_backoff"):
            if key in settings:
                changes[key] = parse_duration(settings[key])
        if "jitter" in settings:
            changes["jitter"] = float(settings["jitter"])
        return replace(policy, **changes) if changes else policy

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        base = min(self.max_backoff, self.backoff * self.multiplier**retry)
        return base * (1 - self.jitter * rng.random())


def error_kind(exc: BaseException) -> str:
    """A short name for what went wrong with an attempt: ``connection refused``, ``read timeout``..."""
    text = str(exc).lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, httpx.ReadTimeout):
        return "read timeout"
    if isinstance(exc, httpx.WriteTimeout):
        return "write timeout"
    if isinstance(exc, httpx.PoolTimeout):
        return "pool timeout"
    if isinstance(exc, httpx.ConnectError):
        causes = _causes(exc)
        if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text:
            return "connection refused"
        if any(isinstance(c, ssl.SSLError) for c in causes) or "ssl" in text or "certificate" in text:
            return "TLS error"
        if any(isinstance(c, socket.gaierror) for c in causes):
            return "DNS error"
        return "connect error"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "protocol error"
    if isinstance(exc, httpx.ReadError):
        return "read error"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return type(exc).__name__


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it (asyncio's "All connection attempts failed" hides the refusal inside)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        grouped = getattr(current, "exceptions", None)  # an exception group (Python 3.11+)
        if isinstance(grouped, tuple):
            chain.extend(e for e in grouped if isinstance(e, BaseException))
        current = current.__cause__ or current.__context__
    return chain


def error_detail(exc: BaseException) -> str:
    """The error text, with the underlying cause when the outer message hides it."""
    outer = str(exc) or type(exc).__name__
    inner = [str(c) for c in _causes(exc)[1:] if str(c) and str(c) not in outer]
    return f"{outer} ({inner[-1]})" if inner else outer
