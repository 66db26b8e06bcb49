"""Recording on the hot path: plain counters and an array of microseconds per scenario.

Recording one sample into the pure-Python ``hdrhistogram`` costs about 0.6 µs, a large share of
a request's budget at 100k requests/s, so the hot path only appends an int to an ``array``.
Once per interval the array is folded into that interval's HDR histogram (``Counter`` groups
equal values first, so the histogram sees each distinct value once) and emptied: memory stays
bounded by one interval's requests whatever the run's length.
"""

from __future__ import annotations

from array import array
from collections import Counter
from typing import Any

from hdrh.histogram import HdrHistogram

__all__ = ["ERROR_KINDS", "HIGHEST_US", "ScenarioStats", "new_histogram"]

# Latencies are recorded in microseconds, from 1 µs to one hour, three significant digits.
LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3

ERROR_KINDS = ("connect", "timeout", "reset", "5xx", "4xx", "status", "check", "flow")


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


class ScenarioStats:
    """What one scenario measured so far; the hot path touches ``latencies``, ``status`` and ``requests``."""

    __slots__ = (
        "_flushed_errors",
        "_flushed_requests",
        "checks_failed",
        "dropped",
        "errors",
        "histogram",
        "interval_histogram",
        "last_error",
        "latencies",
        "name",
        "requests",
        "status",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: array[int] = array("q")
        self.status = [0] * 600
        self.requests = 0  # finished requests, answered or failed (dropped ones are not requests)
        self.errors: dict[str, int] = {}
        self.dropped = 0
        self.checks_failed: dict[str, int] = {}
        self.histogram = new_histogram()
        self.interval_histogram = new_histogram()
        self._flushed_requests = 0
        self._flushed_errors = 0
        self.last_error: str | None = None

    def error(self, kind: str, detail: str | None = None) -> None:
        """Count one failed request (or failed check) of ``kind``."""
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if detail:
            self.last_error = detail

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def flush(self) -> tuple[HdrHistogram, int, int]:
        """Fold the pending samples into this interval's histogram; return it with the interval's counts.

        The histogram returned is reused (reset) at the next flush: histograms are large (~190 KB)
        and allocating one per second fragments the heap, so two per scenario live for the run.
        """
        pending = self.latencies
        interval = self.interval_histogram
        interval.reset()
        if pending:
            record = interval.record_value
            for value, count in Counter(pending).items():
                record(min(max(value, LOWEST_US), HIGHEST_US), count)
            del pending[:]
        requests = self.requests - self._flushed_requests
        errors = self.error_count - self._flushed_errors
        self._flushed_requests = self.requests
        self._flushed_errors += errors
        if interval.get_total_count():
            self.histogram.add(interval)
        return interval, requests, errors

    def status_counts(self) -> dict[str, int]:
        return {str(code): n for code, n in enumerate(self.status) if n}

    def snapshot(self) -> dict[str, Any]:
        """Counts only (the histogram travels separately)."""
        return {
            "requests": self.requests,
            "errors": dict(self.errors),
            "dropped": self.dropped,
            "status": self.status_counts(),
            "checks_failed": dict(self.checks_failed),
        }
