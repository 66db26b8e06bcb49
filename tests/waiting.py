"""Waiting for something to happen, never for a while: a poll with a generous deadline.

A busy machine (a 2-core CI runner under ``-n 2``, another job's build) can be ten times slower
than a laptop, so a test waits for the event it needs (a file, a line of output, a state) and
only gives up after a deadline far beyond what a healthy run takes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["DEADLINE", "wait_for"]

DEADLINE = 60.0  # seconds; a healthy run needs a fraction of one

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], *, deadline: float = DEADLINE, interval: float = 0.02, what: str = "") -> T:
    """Call ``predicate`` until it returns something truthy, and return that; fail after ``deadline`` seconds."""
    __tracebackhide__ = True
    give_up = time.monotonic() + deadline
    while True:
        seen = predicate()
        if seen:
            return seen
        if time.monotonic() > give_up:
            raise AssertionError(f"{what or 'the condition'} did not happen within {deadline:g} s")
        time.sleep(interval)
