"""Multi-core runs: the plan split over N spawned processes, their results merged exactly.

Each worker gets its share of users, iterations or arrival rate (``LoadPlan.share``), waits at a
barrier so all start together, and sends back its result with its HDR histograms; the parent adds
the histograms and sums the counts (``result.merge``), so the merged run is the sum of its parts.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import queue as queue_module
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from pytest_prodgate.errors import ConfigError, ProdgateError
from pytest_prodgate.performance.plan import LoadPlan
from pytest_prodgate.performance.progress import progress_line
from pytest_prodgate.performance.result import LoadResult, merge

__all__ = ["run_workers"]

START_TIMEOUT = 60.0  # spawning a Python process and importing the engine, on a busy machine
FIELDS = 3  # per worker in the shared progress array: requests, errors, p95 of the last interval


def _worker_main(index: int, payload: bytes, preload: Sequence[str], barrier: Any, results: Any, counters: Any) -> None:
    try:
        from pytest_prodgate.performance.cli import load_scenario_file
        from pytest_prodgate.performance.engine import LoadRun, new_event_loop

        for path in preload:
            load_scenario_file(path)
        plan: LoadPlan = pickle.loads(payload)
        base = index * FIELDS

        def publish(run: LoadRun, point: Any) -> None:
            counters[base] += point.requests
            counters[base + 1] += point.errors
            counters[base + 2] = point.p95 or 0.0

        loop = new_event_loop()
        try:
            run = LoadRun(plan, on_interval=publish)
            barrier.wait(START_TIMEOUT)
            result = loop.run_until_complete(run.run())
        finally:
            loop.close()
        results.put((index, "ok", result.to_dict(with_series_histograms=True)))
    except BaseException as exc:  # noqa: BLE001 - report anything to the parent rather than die silently
        with contextlib.suppress(Exception):
            barrier.abort()
        results.put((index, "error", f"{type(exc).__name__}: {exc}"))


def run_workers(plan: LoadPlan, *, stream: TextIO | None = None, preload: Sequence[str] = ()) -> LoadResult:
    """Run ``plan`` in ``plan.workers`` processes and merge their results."""
    from pytest_prodgate.performance.engine import LoadRun, new_event_loop
    from pytest_prodgate.performance.smoke import smoke_test

    stream = stream or sys.stderr
    count = plan.workers
    if plan.smoke:  # once, here, so a broken target fails before any process starts
        loop = new_event_loop()
        try:
            failure = loop.run_until_complete(smoke_test(LoadRun(plan, stream=stream)))
        finally:
            loop.close()
        if failure is not None:
            return failure
    try:
        payloads = [pickle.dumps(plan.share(i, count)) for i in range(count)]
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"workers={count} needs scenarios that can be sent to other processes ({exc}): define flows at "
            "module level and pass verify as True, False or a CA bundle path",
            where="workers",
        ) from None
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(count + 1)
    results = context.Queue()
    counters = context.Array("d", count * FIELDS, lock=False)
    processes = [
        context.Process(
            target=_worker_main, args=(i, payloads[i], tuple(preload), barrier, results, counters), daemon=True
        )
        for i in range(count)
    ]
    for process in processes:
        process.start()
    parts: dict[int, dict[str, Any]] = {}
    try:
        try:
            barrier.wait(START_TIMEOUT)
        except Exception:  # noqa: BLE001 - a broken barrier: a worker failed to start
            errors = _drain_errors(results)
            raise ProdgateError(f"load workers did not start: {errors or 'timed out'}") from None
        enabled = not plan.quiet and bool(getattr(stream, "isatty", lambda: False)())
        start = time.monotonic()
        give_up = start + plan.deadline + 30.0
        last_requests, last_time = 0.0, start
        while len(parts) < count:
            try:
                index, status, data = results.get(timeout=0.5)
            except queue_module.Empty:
                index, status = -1, ""
            else:
                if status != "ok":
                    raise ProdgateError(f"load worker {index} failed: {data}")
                parts[index] = data
            now = time.monotonic()
            if now > give_up:
                raise ProdgateError(f"load workers did not finish within {plan.deadline + 30:g}s")
            if enabled and index == -1:
                requests = sum(counters[i * FIELDS] for i in range(count))
                failed = int(sum(counters[i * FIELDS + 1] for i in range(count)))
                p95 = max(counters[i * FIELDS + 2] for i in range(count)) or None
                rps = (requests - last_requests) / (now - last_time) if now > last_time else 0.0
                last_requests, last_time = requests, now
                stream.write(
                    "\r"
                    + progress_line(now - start, plan.duration, rps, p95, failed, int(requests))
                    + f"  ({count} workers)\x1b[K"
                )
                stream.flush()
        if enabled:
            stream.write("\r\x1b[K")
            stream.flush()
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
    merged = merge([LoadResult.from_dict(parts[i]) for i in range(count)])
    merged.workers = count
    return merged


def _drain_errors(results: Any) -> str:
    messages: list[str] = []
    while True:
        try:
            index, status, data = results.get(timeout=0.1)
        except queue_module.Empty:
            return "; ".join(messages)
        if status != "ok":
            messages.append(f"worker {index}: {data}")
