"""Run a load plan in this process: ``run_load`` (sync) and ``arun_load`` (async).

The run: smoke each scenario once, start the workload model, flush samples into per-interval
HDR histograms every ``interval`` (series, progress line, abort checks), stop at the duration,
the iteration count, an abort or the deadline, drain what is in flight, and build a ``LoadResult``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from time import perf_counter
from typing import Any, TextIO

from pytest_prodgate.performance.abort import AbortWatch
from pytest_prodgate.performance.connection import Connection, Target
from pytest_prodgate.performance.drivers import ClosedUser, FlowUser, OpenModel
from pytest_prodgate.performance.plan import LoadPlan, make_plan
from pytest_prodgate.performance.progress import Progress
from pytest_prodgate.performance.recorder import ScenarioStats, new_histogram
from pytest_prodgate.performance.result import IntervalPoint, LoadResult, ScenarioResult
from pytest_prodgate.performance.scenarios import Flow, FlowFunction, Template, ok_table, pick_table
from pytest_prodgate.performance.smoke import SmokeFailed, smoke_test
from pytest_prodgate.performance.users import VirtualUser

__all__ = ["LoadRun", "arun_load", "arun_plan", "run_load", "run_plan"]

WATCHDOG_PERIOD = 0.1


@dataclass(frozen=True)
class Entry:
    """One slot of the pick table: which scenario, and its pre-encoded bytes (templates)."""

    stats: ScenarioStats
    data: bytes
    ok: bytes
    flow: FlowFunction | None


class LoadRun:
    """The state of one run in one process."""

    def __init__(
        self,
        plan: LoadPlan,
        *,
        stream: TextIO | None = None,
        on_interval: Callable[[LoadRun, IntervalPoint], None] | None = None,
    ) -> None:
        self.plan = plan
        self.on_interval = on_interval
        self.target = Target.parse(plan.url, plan.verify)
        self.stats: dict[str, ScenarioStats] = {s.label: ScenarioStats(s.label) for s in plan.scenarios}
        self.table = self._build_table()
        self.mask = len(self.table) - 1
        self.connections: set[Connection] = set()
        self.stopping = False
        self.remaining = plan.iterations
        self.t0 = 0.0
        self.series: list[IntervalPoint] = []
        self._interval_histogram = new_histogram()  # reused each interval, see ScenarioStats.flush
        self.aborted: str | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.stop_event: asyncio.Event | None = None
        self.open_model: OpenModel | None = None
        self.progress = Progress(plan, stream or sys.stderr)
        self.abort_watch = AbortWatch(plan) if plan.abort_on_fail and plan.thresholds else None

    def _build_table(self) -> list[Entry]:
        plan = self.plan
        variants: list[list[bytes]] = []
        oks: list[bytes] = []
        for s in plan.scenarios:
            if isinstance(s, Template):
                variants.append(
                    s.variants(self.target.base_path, self.target.host_header, plan.headers, self.target.base_query)
                )
                oks.append(ok_table(s.expect))
            else:
                variants.append([b""])
                oks.append(ok_table(None))
        picks = pick_table([s.weight for s in plan.scenarios], size=4096, seed=plan.seed)
        size = 1 << (len(picks) - 1).bit_length()  # a power of two, so ``k & mask`` indexes it
        turn = [0] * len(plan.scenarios)
        table = []
        for i in range(size):
            index = picks[i % len(picks)]
            scenario = plan.scenarios[index]
            data = variants[index][turn[index] % len(variants[index])]
            turn[index] += 1
            flow = scenario.func if isinstance(scenario, Flow) else None
            table.append(Entry(self.stats[scenario.label], data, oks[index], flow))
        return table

    # helpers used by the drivers -----------------------------------------------------------
    def take_iteration(self) -> bool:
        remaining = self.remaining
        if remaining is None:
            return True
        if remaining <= 0:
            return False
        self.remaining = remaining - 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    def next_entry(self, user: ClosedUser) -> Entry:
        entry = self.table[user.k & self.mask]
        user.k += 1
        return entry

    def new_user(self, index: int) -> VirtualUser:
        plan = self.plan
        return VirtualUser(
            index,
            self.target,
            headers=plan.headers,
            connect_timeout=plan.connect_timeout,
            read_timeout=plan.read_timeout,
        )

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def sleep_unless_stopping(self, seconds: float) -> None:
        assert self.stop_event is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stop_event.wait(), seconds)

    def stop(self, reason: str | None = None) -> None:
        if reason and self.aborted is None:
            self.aborted = reason
        self.stopping = True
        if self.stop_event is not None:
            self.stop_event.set()

    # the run -------------------------------------------------------------------------------
    async def run(self) -> LoadResult:
        plan = self.plan
        loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        if plan.smoke:
            failure = await smoke_test(self)
            if failure is not None:
                return failure
        cpu0 = time.process_time()
        self.t0 = start = perf_counter()
        wall_start = time.time()
        watchdog = loop.call_later(WATCHDOG_PERIOD, self._watchdog)
        flusher = loop.call_later(plan.interval, self._flush_tick)
        self._watchdog_handle, self._flush_handle = watchdog, flusher
        model = self._start_model()
        self.open_model = model if isinstance(model, OpenModel) else None
        deadline_at = start + plan.deadline
        try:
            await self._wait_until_done(model, deadline_at)
        finally:
            self._watchdog_handle.cancel()
            self._flush_handle.cancel()
            for conn in list(self.connections):
                conn.cut()
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.wait(list(self.tasks), timeout=1.0)
            if isinstance(model, OpenModel):
                model.drop_all()
                model.close()
        elapsed = perf_counter() - start
        cpu = time.process_time() - cpu0
        self._flush(perf_counter())
        self.progress.finish()
        return self._result(elapsed, cpu / elapsed if elapsed > 0 else 0.0, wall_start)

    def _start_model(self) -> OpenModel | list[asyncio.Task[None]]:
        plan = self.plan
        if plan.open_model:
            model = OpenModel(self)
            self.spawn(model.main())
            return model
        users: list[asyncio.Task[None]] = []
        kind = FlowUser if plan.has_flows else ClosedUser
        for index in range(plan.users):
            delay = plan.ramp_up * index / plan.users if plan.ramp_up else 0.0
            users.append(self.spawn(kind(self, index).main(delay)))
        return users

    async def _wait_until_done(self, model: OpenModel | list[asyncio.Task[None]], deadline_at: float) -> None:
        plan = self.plan
        end_at = self.t0 + plan.duration if plan.duration is not None else None
        # Phase 1: the load itself, until the duration ends, iterations run out, an abort or the deadline.
        while True:
            now = perf_counter()
            if now >= deadline_at:
                self.stop(f"deadline of {plan.deadline:g}s reached")
                return
            if self.stopping:
                break
            if end_at is not None and now >= end_at:
                break
            if isinstance(model, OpenModel):
                if model.done.done() and not model.busy:
                    break
            elif all(t.done() for t in model):
                break
            wait = min(0.05, deadline_at - now, (end_at - now) if end_at is not None else 0.05)
            await self.sleep_unless_stopping(max(wait, 0.001))
        self.stop()
        # Phase 2: let requests in flight finish (bounded by the read timeout and the deadline);
        # an aborted run does not wait: what is still in flight is cut and counted as dropped.
        drain_until = perf_counter() if self.aborted else min(perf_counter() + plan.read_timeout, deadline_at)
        while perf_counter() < drain_until:
            if isinstance(model, OpenModel):
                if not model.busy:
                    return
            elif all(t.done() for t in model):
                return
            await asyncio.sleep(0.01)

    def _watchdog(self) -> None:
        now = perf_counter()
        timeout = self.plan.read_timeout
        for conn in list(self.connections):
            if conn.in_flight and now - conn.written_at > timeout:
                conn.fail("timeout", f"no response within {timeout:g}s", now)
        if self.open_model is not None:
            self.open_model.drop_stale(now)
        self._watchdog_handle = asyncio.get_running_loop().call_later(WATCHDOG_PERIOD, self._watchdog)

    def _flush_tick(self) -> None:
        now = perf_counter()
        self._flush(now)
        if self.abort_watch is not None and not self.stopping:
            reason = self.abort_watch.check(self, now - self.t0)
            if reason:
                self.stop(reason)
        self._flush_handle = asyncio.get_running_loop().call_later(self.plan.interval, self._flush_tick)

    def _flush(self, now: float) -> None:
        histogram = self._interval_histogram
        histogram.reset()
        requests = errors = 0
        for stats in self.stats.values():
            part, part_requests, part_errors = stats.flush()
            requests += part_requests
            errors += part_errors
            if part.get_total_count():
                histogram.add(part)
        point = IntervalPoint.build(now - self.t0, requests, errors, histogram)
        length = point.t - self.series[-1].t if self.series else point.t
        if length > 0.05 or not self.series:
            self.series.append(point)
        elif point.requests:  # a sliver at the end: fold it into the last point
            self.series[-1].absorb(point)
        self.progress.update(self, point)
        if self.on_interval is not None:
            self.on_interval(self, point)

    def scenario_results(self) -> dict[str, ScenarioResult]:
        out = {}
        for name, s in self.stats.items():
            out[name] = ScenarioResult(
                name=name,
                requests=s.requests,
                errors=dict(s.errors),
                dropped=s.dropped,
                status=s.status_counts(),
                checks_failed=dict(s.checks_failed),
                histogram=s.histogram,
            )
        return out

    def _result(self, elapsed: float, cpu: float, wall_start: float) -> LoadResult:
        plan = self.plan
        failure = None
        overall = sum(s.requests for s in self.stats.values())
        connect_errors = sum(s.errors.get("connect", 0) for s in self.stats.values())
        if overall and connect_errors == overall:
            detail = next((s.last_error for s in self.stats.values() if s.last_error), "no connection")
            failure = f"every request failed to connect: {detail}"
        return LoadResult(
            target=plan.url,
            scenarios=self.scenario_results(),
            duration=elapsed,
            model="open" if plan.open_model else "closed",
            users=plan.users,
            rate=plan.rate,
            workers=1,
            generator_cpu=cpu,
            interval=plan.interval,
            series=self.series,
            aborted=self.aborted,
            failure=failure,
            started_at=wall_start,
        )


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed (about twice the throughput), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def arun_plan(plan: LoadPlan, *, stream: TextIO | None = None) -> LoadResult:
    """Await ``plan`` from async code: it runs on its own (uvloop) loop in a thread, so the caller's
    loop stays free (it may be serving the target itself)."""
    return await asyncio.get_running_loop().run_in_executor(None, lambda: _run_blocking(plan, stream))


def _run_blocking(plan: LoadPlan, stream: TextIO | None) -> LoadResult:
    if plan.cluster:
        from pytest_prodgate.performance.distributed import run_on_cluster

        return run_on_cluster(plan, plan.cluster, stream=stream)
    if plan.workers > 1:
        from pytest_prodgate.performance.workers import run_workers

        return run_workers(plan, stream=stream)
    return _run_on_new_loop(plan, stream)


def _run_on_new_loop(plan: LoadPlan, stream: TextIO | None) -> LoadResult:
    loop = new_event_loop()
    try:
        return loop.run_until_complete(LoadRun(plan, stream=stream).run())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def run_plan(plan: LoadPlan, *, stream: TextIO | None = None) -> LoadResult:
    """Run ``plan`` to the end on a fresh (uvloop) event loop.

    Inside a running loop it runs in a thread (asyncio forbids nesting loops); the caller's loop
    waits meanwhile, so use ``arun_plan`` when that loop serves the target.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:  # called from async code: run on a loop of our own in a thread
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="prodgate-load") as pool:
            return pool.submit(_run_blocking, plan, stream).result()
    return _run_blocking(plan, stream)


def run_load(url: str, scenarios: Any = None, *, stream: TextIO | None = None, **settings: Any) -> LoadResult:
    """Run a load test against ``url``; ``settings`` are ``make_plan``'s keywords (users, duration, rate...)."""
    return run_plan(make_plan(url, scenarios, **settings), stream=stream)


async def arun_load(url: str, scenarios: Any = None, *, stream: TextIO | None = None, **settings: Any) -> LoadResult:
    """``run_load`` for async code (the load runs on its own loop in a thread)."""
    return await arun_plan(make_plan(url, scenarios, **settings), stream=stream)


__all__ += ["Entry", "SmokeFailed", "new_event_loop"]
