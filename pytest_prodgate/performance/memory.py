"""The server memory gate's core: a server's resident memory sampled across N requests (plain Python).

A leak shows as resident memory that keeps growing with the traffic. ``measure_memory`` warms the
server up (caches, allocator pools and lazy imports settle first), then sends ``requests`` requests
to one URL, one after the other, and reads the RSS of the target process *and its children*
(pre-fork servers such as gunicorn keep the application in the children) at evenly spaced points.

Figures, in bytes: ``rss`` (at the end), ``growth`` (end minus the first sample after warm-up) and
``growth_per_100`` (the least-squares slope of RSS over requests, times 100: one late allocator step
moves it less than it moves the two-point difference). Every request has a timeout and the whole
measurement a deadline; a process that is not running is a ``TargetError`` saying so.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from pytest_prodgate.errors import ConfigError, TargetError
from pytest_prodgate.performance.config import MEMORY_SCHEMA

__all__ = [
    "MEMORY_SCHEMA",
    "MemoryResult",
    "measure_memory",
    "pid_from_settings",
    "tree_rss",
]

DEFAULT_PATH = "/"
DEFAULT_REQUESTS = 200
DEFAULT_WARMUP = 20
DEFAULT_SAMPLES = 20
DEFAULT_TIMEOUT = 5.0
DEFAULT_DEADLINE = 60.0
MIN_MEASURED = 10  # fewer measured requests than this say nothing about growth


def tree_rss(pid: int) -> tuple[int, int]:
    """Resident bytes of process ``pid`` plus all its descendants, and how many processes that was.

    Children that exit while being read are left out; the process itself not running is a ``TargetError``.
    """
    try:
        process = psutil.Process(pid)
        total = process.memory_info().rss
        children = process.children(recursive=True)
    except psutil.NoSuchProcess:
        raise TargetError(f"process {pid} is not running") from None
    except psutil.AccessDenied:
        raise TargetError(f"process {pid}: permission denied reading its memory (run as its user or root)") from None
    counted = 1
    for child in children:
        try:
            total += child.memory_info().rss
            counted += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total, counted


@dataclass
class MemoryResult:
    """What one measurement saw: RSS samples ``(requests sent, bytes)`` after the warm-up."""

    pid: int
    url: str
    warmup: int
    requests: int
    samples: list[tuple[int, int]] = field(default_factory=list)
    processes: int = 1
    errors: int = 0
    first_error: str | None = None
    stopped_early: str | None = None

    @property
    def rss(self) -> int:
        return self.samples[-1][1]

    @property
    def growth(self) -> int:
        return self.samples[-1][1] - self.samples[0][1]

    @property
    def growth_per_100(self) -> float:
        return slope(self.samples) * 100.0

    def figures(self) -> dict[str, float]:
        """The gate's figures in base units (bytes; requests as a count)."""
        return {
            "rss": float(self.rss),
            "growth": float(self.growth),
            "growth_per_100": self.growth_per_100,
            "requests": float(self.requests),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable detail for reports and charts (``gate.attach("memory", ...)``)."""
        return {
            "pid": self.pid,
            "url": self.url,
            "warmup": self.warmup,
            "requests": self.requests,
            "processes": self.processes,
            "errors": self.errors,
            "first_error": self.first_error,
            "stopped_early": self.stopped_early,
            "series": [{"requests": n, "rss": rss} for n, rss in self.samples],
            **self.figures(),
        }


def slope(samples: Sequence[tuple[int, int]]) -> float:
    """Least-squares slope of bytes over requests (0 with fewer than two distinct points)."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_x = sum(x for x, _ in samples) / n
    mean_y = sum(y for _, y in samples) / n
    spread = sum((x - mean_x) ** 2 for x, _ in samples)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in samples) / spread


def measure_memory(
    pid: int,
    url: str,
    *,
    requests: int = DEFAULT_REQUESTS,
    warmup: int = DEFAULT_WARMUP,
    samples: int = DEFAULT_SAMPLES,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    headers: dict[str, str] | None = None,
) -> MemoryResult:
    """Warm up with ``warmup`` requests to ``url``, then sample ``pid``'s tree RSS across ``requests`` more.

    Bounded: each request has ``timeout``, the whole run ``deadline`` (a run cut short keeps what it
    measured and says so in ``stopped_early``). A target that cannot be reached, or a process that is
    gone, raises ``TargetError`` with the reason.
    """
    if requests < MIN_MEASURED:
        raise ConfigError(f"server memory: requests must be at least {MIN_MEASURED}, got {requests}")
    if warmup < 0 or samples < 2:
        raise ConfigError(f"server memory: warmup must be >= 0 and samples >= 2, got {warmup} and {samples}")
    tree_rss(pid)  # fail fast, before any traffic, when the process is not there
    result = MemoryResult(pid=pid, url=url, warmup=warmup, requests=0)
    every = max(1, requests // samples)
    ends_at = time.monotonic() + deadline
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)), headers=headers) as client:
        for _ in range(warmup):
            if time.monotonic() >= ends_at:
                result.stopped_early = f"deadline of {deadline:g} s reached during the warm-up"
                break
            _send(client, url, result)
        rss, result.processes = tree_rss(pid)
        result.samples.append((0, rss))
        for sent in range(1, requests + 1):
            if result.stopped_early or time.monotonic() >= ends_at:
                result.stopped_early = result.stopped_early or f"deadline of {deadline:g} s reached"
                break
            _send(client, url, result)
            result.requests = sent
            if sent % every == 0 or sent == requests:
                rss, result.processes = tree_rss(pid)
                result.samples.append((sent, rss))
    if result.requests and result.samples[-1][0] != result.requests:
        rss, result.processes = tree_rss(pid)
        result.samples.append((result.requests, rss))
    if result.errors == warmup + result.requests:
        raise TargetError(f"every request to {url} failed: {result.first_error}")
    if result.requests < MIN_MEASURED:
        raise TargetError(
            f"only {result.requests} requests to {url} measured ({result.stopped_early}); "
            f"at least {MIN_MEASURED} are needed"
        )
    return result


def _send(client: httpx.Client, url: str, result: MemoryResult) -> None:
    """One request; transport failures are counted, not raised (memory is what is measured)."""
    try:
        client.get(url)
    except httpx.HTTPError as exc:
        result.errors += 1
        if result.first_error is None:
            result.first_error = f"{type(exc).__name__}: {exc}"


def pid_from_settings(memory: dict[str, Any], where: str = "[tool.prodgate.performance.memory]") -> int | None:
    """The configured server PID: ``pid``, or the number in ``pidfile``; None when neither is set."""
    if "pid" in memory:
        return int(memory["pid"])
    pidfile = memory.get("pidfile")
    if not pidfile:
        return None
    try:
        text = Path(pidfile).read_text().strip()
    except OSError as exc:
        raise TargetError(f"{where} pidfile {pidfile}: cannot read it ({exc.strerror})") from None
    if not text.isdigit():
        raise TargetError(f"{where} pidfile {pidfile}: expected a process id, found {text[:40]!r}")
    return int(text)
