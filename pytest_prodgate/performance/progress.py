"""The live progress line on stderr: elapsed of total, rps, p95, errors. Only on a TTY, never when quiet."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TextIO

from pytest_prodgate.performance.plan import LoadPlan

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.performance.engine import LoadRun
    from pytest_prodgate.performance.result import IntervalPoint

__all__ = ["Progress", "progress_line"]


def progress_line(
    elapsed: float, total: float | None, rps: float, p95: float | None, errors: int, requests: int
) -> str:
    of = f"/{total:.0f}s" if total else "s"
    p95_text = "-" if p95 is None or math.isnan(p95) else f"{p95 * 1000:.1f} ms"
    rate = errors / requests if requests else 0.0
    return f"load {elapsed:5.1f}{of}  {rps:9,.0f} rps  p95 {p95_text}  errors {errors:,} ({rate:.2%})"


class Progress:
    """Rewrites one line on ``stream`` each interval; silent when ``stream`` is not a terminal."""

    def __init__(self, plan: LoadPlan, stream: TextIO) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.enabled = not plan.quiet and bool(isatty and isatty())
        self.total = plan.duration
        self.requests = 0
        self.errors = 0
        self.shown = False

    def update(self, run: LoadRun, point: IntervalPoint) -> None:
        self.requests += point.requests
        self.errors += point.errors
        if not self.enabled or not run.series:
            return
        length = point.t - (run.series[-2].t if len(run.series) > 1 else 0.0)
        p95 = point.p95
        rps = point.requests / length if length > 0 else 0.0
        self.write(progress_line(point.t, self.total, rps, p95, self.errors, self.requests))

    def write(self, text: str) -> None:
        if not self.enabled:
            return
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
