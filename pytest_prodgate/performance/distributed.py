"""Distributed load on a Dask cluster: one plan split over the workers, started together, merged exactly.

The coordinator is Dask's distributed scheduler (deployed however the team deploys Dask: locally,
over SSH, on Kubernetes); this module only uses it. ``run_on_cluster``:

1. connects to the scheduler within the plan's connect timeout (an unreachable one is one line);
2. refuses workers whose pytest-prodgate version differs from ours, naming both versions;
3. measures each worker's clock offset (the sample with the shortest round trip of a few);
4. smoke-tests the target here, then submits one shard per worker (``LoadPlan.share``: users or
   arrival rate divided, scenario weights kept), pinned to that worker, each told to start at one
   common instant expressed in its own clock;
5. watches: progress lines from the workers (Dask events), a shard that aborts stops every shard,
   a worker that leaves the cluster fails the run naming it and the share of the load it carried;
6. merges the shards' results exactly (``result.merge``: counts summed, HDR histograms added from
   their encoded form, per-interval series aligned) and lists the workers in ``result.cluster``.

``distributed`` is imported here only, so nothing but a cluster run pays for it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue as queue_module
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TextIO

import pytest_prodgate
from pytest_prodgate.errors import ClusterError, ConfigError
from pytest_prodgate.performance.config import CLUSTER_VARIABLE, cluster_address
from pytest_prodgate.performance.plan import LoadPlan
from pytest_prodgate.performance.progress import progress_line
from pytest_prodgate.performance.result import LoadResult, merge

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.performance.engine import LoadRun

# distributed ships no type hints for Client and Future: they are Any here.
Client = Any
Future = Any

__all__ = ["CLUSTER_VARIABLE", "WorkerClock", "cluster_address", "run_on_cluster"]

CLOCK_SAMPLES = 3  # round trips per worker; the shortest one gives the offset
START_LEAD = 0.25  # seconds between submitting the shards and their common start (plus four round trips)
POLL = 0.2  # seconds between the coordinator's looks at the cluster
LOSS_GRACE = 10.0  # after the deadline, how long the coordinator waits for results before failing the run

# Shards running in this (worker) process, by run id: their loop and run, so ``stop_shard`` reaches them.
_RUNNING: dict[str, tuple[Any, LoadRun]] = {}
_RUNNING_LOCK = threading.Lock()


@dataclass(frozen=True)
class WorkerClock:
    """A worker's clock against ours: ``offset`` (its time minus ours) and the round trip it was measured in."""

    address: str
    offset: float
    rtt: float


# --- on the worker ------------------------------------------------------------------------------
def worker_version() -> str:
    """The pytest-prodgate version a worker runs (compared with the coordinator's before any load)."""
    return str(pytest_prodgate.__version__)


def stop_shard(run_id: str, reason: str | None) -> bool:
    """Stop this worker's shard of ``run_id`` (called through ``Client.run``, on the worker's own loop)."""
    with _RUNNING_LOCK:
        entry = _RUNNING.get(run_id)
    if entry is None:
        return False
    loop, run = entry
    with contextlib.suppress(RuntimeError):  # the loop closed: the shard already finished
        loop.call_soon_threadsafe(run.stop, reason)
    return True


def run_shard(payload: bytes, index: int, run_id: str, start_at: float) -> dict[str, Any]:
    """Run one shard on a Dask worker: wait for ``start_at`` (this worker's clock), run, return the result."""
    from distributed import get_worker

    from pytest_prodgate.performance.engine import LoadRun, new_event_loop

    worker = get_worker()
    plan: LoadPlan = pickle.loads(payload)
    topic = f"prodgate-{run_id}"

    def publish(run: LoadRun, point: Any) -> None:
        worker.log_event(
            topic,
            {"index": index, "requests": point.requests, "errors": point.errors, "p95": point.p95 or 0.0},
        )

    if plan.workers > 1:  # several engine processes on this worker (one per core)
        from pytest_prodgate.performance.workers import run_workers

        late = _sleep_until(start_at)
        result = run_workers(plan, stream=open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    else:
        loop = new_event_loop()
        try:
            run = LoadRun(plan, on_interval=publish)
            with _RUNNING_LOCK:
                _RUNNING[run_id] = (loop, run)
            late = _sleep_until(start_at)
            result = loop.run_until_complete(run.run())
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(run_id, None)
            loop.close()
    if result.aborted:
        worker.log_event(topic, {"index": index, "abort": result.aborted})
    data = result.to_dict(with_series_histograms=True)
    data["address"] = worker.address
    data["start_late"] = late
    return data


def _sleep_until(start_at: float) -> float:
    """Wait for the common start (this worker's clock); return how late the shard started (seconds)."""
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(min(delay, 30.0))  # a wrong clock never holds a shard back for long
    return max(0.0, time.time() - start_at)


# --- on the coordinator -------------------------------------------------------------------------
def _connect(address: str, timeout: float) -> Client:
    try:
        from distributed import Client as DaskClient
    except ImportError:
        raise ConfigError(
            "a cluster run needs Dask's distributed: pip install 'pytest-prodgate[cluster]'", where="cluster"
        ) from None
    import logging

    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # its own connect errors are told here, in one line
    try:
        client: Client = DaskClient(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
        return client
    except (OSError, TimeoutError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {address} within {timeout:g}s: {detail}") from None


def _workers(client: Client, address: str, timeout: float) -> list[str]:
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise ClusterError(f"the Dask scheduler at {address} has no workers (waited {timeout:g}s)") from None
    return sorted(client.nthreads())


def _check_versions(client: Client, workers: list[str]) -> None:
    ours = worker_version()
    try:
        versions = client.run(worker_version, workers=workers)
    except Exception as exc:  # noqa: BLE001 - e.g. a worker without pytest-prodgate installed
        raise ClusterError(
            f"cannot ask the workers for their pytest-prodgate version: {type(exc).__name__}: {exc}"
        ) from None
    wrong = {w: v for w, v in versions.items() if v != ours}
    if wrong:
        listed = ", ".join(f"{w} runs pytest-prodgate {v}" for w, v in sorted(wrong.items()))
        raise ClusterError(f"refused: {listed}; this coordinator runs {ours}. Install the same version everywhere")


def worker_is_daemonic() -> bool:
    """Whether this worker process may not start children (Dask's default): then no engine processes."""
    import multiprocessing

    return bool(multiprocessing.current_process().daemon)


def _check_processes(client: Client, workers: list[str], processes: int) -> None:
    try:
        flags = client.run(worker_is_daemonic, workers=workers)
    except Exception as exc:  # noqa: BLE001 - told in one line, like the version check
        raise ClusterError(f"cannot ask the workers how they run: {type(exc).__name__}: {exc}") from None
    daemonic = sorted(w for w, flag in flags.items() if flag)
    if daemonic:
        raise ConfigError(
            f"workers={processes} runs {processes} engine processes on each Dask worker, but "
            f"{', '.join(daemonic)} may not start processes (Dask workers are daemonic by default): start them "
            "with DASK_DISTRIBUTED__WORKER__DAEMON=False, or use one Dask worker per core (--nworkers N) and workers=1",
            where="workers",
        )


def measure_clocks(client: Client, workers: list[str]) -> dict[str, WorkerClock]:
    """Each worker's clock offset from ours, from the quickest of a few round trips."""
    clocks: dict[str, WorkerClock] = {}
    for address in workers:
        best: WorkerClock | None = None
        for _ in range(CLOCK_SAMPLES):
            sent = time.time()
            remote = client.run(time.time, workers=[address])[address]
            back = time.time()
            sample = WorkerClock(address, remote - (sent + back) / 2, back - sent)
            if best is None or sample.rtt < best.rtt:
                best = sample
        assert best is not None
        clocks[address] = best
    return clocks


def _payload(plan: LoadPlan) -> bytes:
    """The shard pickled so that flows from test modules and scenario files travel by value."""
    import cloudpickle

    from pytest_prodgate.performance.scenarios import Flow

    modules = {
        sys.modules[s.func.__module__]
        for s in plan.scenarios
        if isinstance(s, Flow) and s.func.__module__ in sys.modules and not s.func.__module__.startswith("pytest_")
    }
    for module in modules:
        cloudpickle.register_pickle_by_value(module)
    try:
        return bytes(cloudpickle.dumps(plan))
    except Exception as exc:  # noqa: BLE001 - anything unpicklable is a usage mistake
        raise ConfigError(
            f"the plan cannot be sent to the cluster: {type(exc).__name__}: {exc}", where="cluster"
        ) from None
    finally:
        for module in modules:
            with contextlib.suppress(ValueError):
                cloudpickle.unregister_pickle_by_value(module)


def _load_share(plan: LoadPlan, shard: LoadPlan) -> str:
    if plan.open_model:
        return f"{(shard.rate or 0.0):g} of {(plan.rate or 0.0):g} arrivals/s" if plan.rate else "its arrival stages"
    if plan.iterations is not None:
        return f"{shard.users} of {plan.users} users, {shard.iterations} of {plan.iterations} iterations"
    return f"{shard.users} of {plan.users} users"


class _Watch:
    """The coordinator's view while the shards run: progress from the workers' events, aborts."""

    def __init__(self, plan: LoadPlan, count: int, stream: TextIO) -> None:
        self.plan = plan
        self.events: queue_module.SimpleQueue[dict[str, Any]] = queue_module.SimpleQueue()
        self.requests = [0] * count
        self.errors = [0] * count
        self.p95 = [0.0] * count
        self.abort: str | None = None
        self.stream = stream
        self.enabled = not plan.quiet and bool(getattr(stream, "isatty", lambda: False)())
        self.last = (0, time.monotonic())

    def handler(self, event: tuple[float, dict[str, Any]]) -> None:
        self.events.put(event[1])

    def drain(self, started: float) -> None:
        fresh = False
        while True:
            try:
                msg = self.events.get_nowait()
            except queue_module.Empty:
                break
            index = int(msg.get("index", 0))
            if "abort" in msg:
                self.abort = self.abort or str(msg["abort"])
                continue
            self.requests[index] += int(msg["requests"])
            self.errors[index] += int(msg["errors"])
            self.p95[index] = float(msg["p95"])
            fresh = True
        if fresh and self.enabled:
            now = time.monotonic()
            total = sum(self.requests)
            rps = (total - self.last[0]) / (now - self.last[1]) if now > self.last[1] else 0.0
            self.last = (total, now)
            line = progress_line(now - started, self.plan.duration, rps, max(self.p95) or None, sum(self.errors), total)
            self.stream.write(f"\r{line}  ({len(self.requests)} cluster workers)\x1b[K")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def run_on_cluster(plan: LoadPlan, address: str, *, stream: TextIO | None = None) -> LoadResult:
    """Run ``plan`` on the Dask cluster whose scheduler is at ``address`` and merge the shards' results."""
    stream = stream or sys.stderr
    entered = time.time()
    client = _connect(address, plan.connect_timeout)
    try:
        result = _run(client, plan, address, stream)
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=5)
    if result.cluster is not None:  # connect, versions, clocks, smoke test and submission, until the common start
        result.cluster["setup"] = result.cluster.pop("start_at") - entered
    return result


def _run(client: Client, plan: LoadPlan, address: str, stream: TextIO) -> LoadResult:
    workers = _workers(client, address, plan.connect_timeout)
    _check_versions(client, workers)
    if not plan.open_model:
        workers = workers[: max(1, min(len(workers), plan.users))]  # no worker without a user
    if plan.iterations is not None:
        workers = workers[: max(1, min(len(workers), plan.iterations))]
    if plan.workers > 1:
        _check_processes(client, workers, plan.workers)
    clocks = measure_clocks(client, workers)
    if plan.smoke:  # once, here, so a broken target fails before any shard starts
        from pytest_prodgate.performance.engine import LoadRun, new_event_loop
        from pytest_prodgate.performance.smoke import smoke_test

        loop = new_event_loop()
        try:
            failure = loop.run_until_complete(smoke_test(LoadRun(replace(plan, cluster=None), stream=stream)))
        finally:
            loop.close()
        if failure is not None:
            return failure
    count = len(workers)
    shards = [replace(plan.share(i, count), workers=plan.workers) for i in range(count)]
    run_id = uuid.uuid4().hex[:12]
    watch = _Watch(plan, count, stream)
    topic = f"prodgate-{run_id}"
    client.subscribe_topic(topic, watch.handler)
    start_at = time.time() + START_LEAD + 4 * max(c.rtt for c in clocks.values())
    futures: dict[str, Future] = {}
    for i, worker in enumerate(workers):
        futures[worker] = client.submit(
            run_shard,
            _payload(shards[i]),
            i,
            run_id,
            start_at + clocks[worker].offset,
            workers=[worker],
            allow_other_workers=False,
            pure=False,
            retries=0,
            key=f"prodgate-shard-{run_id}-{i}",
        )
    try:
        parts, lost = _wait(client, plan, futures, watch, run_id, start_at)
    finally:
        watch.finish()
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(topic)
    merged = _merged(plan, workers, shards, clocks, parts, lost, address)
    if merged.cluster is not None:
        merged.cluster["start_at"] = start_at
    return merged


def _stop_all(client: Client, workers: list[str], run_id: str, reason: str | None) -> None:
    with contextlib.suppress(Exception):
        client.run(stop_shard, run_id, reason, workers=workers, on_error="return")


def _wait(
    client: Client, plan: LoadPlan, futures: dict[str, Future], watch: _Watch, run_id: str, start_at: float
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Results by worker, and the workers lost (with why) - never past the deadline plus a grace period."""
    parts: dict[str, dict[str, Any]] = {}
    lost: dict[str, str] = {}
    stopped = False
    give_up = start_at + plan.deadline + LOSS_GRACE
    started = time.monotonic() + max(0.0, start_at - time.time())
    while len(parts) + len(lost) < len(futures):
        watch.drain(started)
        alive = set(client.nthreads())
        for worker, future in futures.items():
            if worker in parts or worker in lost:
                continue
            if future.status == "finished":
                parts[worker] = future.result()
            elif future.status in ("error", "cancelled"):
                exc = future.exception() if future.status == "error" else None
                lost[worker] = f"its shard failed: {type(exc).__name__}: {exc}" if exc else "its shard was cancelled"
            elif worker not in alive:
                lost[worker] = "it left the cluster mid-run"
                future.cancel()
        remaining = [w for w in futures if w not in parts and w not in lost]
        if (lost or watch.abort) and not stopped and remaining:
            reason = watch.abort  # None for a lost worker: the run fails with that, it was not aborted
            _stop_all(client, remaining, run_id, reason)
            stopped = True
        if time.time() > give_up:
            for worker in remaining:
                lost[worker] = f"no result within the deadline of {plan.deadline:g}s"
                futures[worker].cancel()
            _stop_all(client, remaining, run_id, "deadline")
            break
        if remaining:
            time.sleep(POLL)
    watch.drain(started)
    return parts, lost


def _merged(
    plan: LoadPlan,
    workers: list[str],
    shards: list[LoadPlan],
    clocks: dict[str, WorkerClock],
    parts: dict[str, dict[str, Any]],
    lost: dict[str, str],
    address: str,
) -> LoadResult:
    results = {w: LoadResult.from_dict(data) for w, data in parts.items()}
    if results:
        merged = merge([results[w] for w in workers if w in results])
    else:
        merged = LoadResult(target=plan.url, scenarios={}, duration=0.0, users=plan.users, rate=plan.rate)
    listing = []
    for i, worker in enumerate(workers):
        part = results.get(worker)
        entry: dict[str, Any] = {
            "address": worker,
            "clock_offset": clocks[worker].offset,
            "clock_rtt": clocks[worker].rtt,
            "share": _load_share(plan, shards[i]),
            "processes": shards[i].workers,
            "lost": lost.get(worker),
        }
        if part is not None:
            overall = part.overall
            entry.update(
                requests=overall.requests,
                errors=overall.error_count,
                generator_cpu=part.generator_cpu,
                duration=part.duration,
                start_late=parts[worker].get("start_late"),
                hdr=overall.to_dict()["hdr"],
            )
        listing.append(entry)
    merged.cluster = {"scheduler": address, "workers": listing}
    if lost:
        described = "; ".join(
            f"worker {w} lost ({why}): {_load_share(plan, shards[workers.index(w)])} "
            f"({_fraction(plan, shards[workers.index(w)], len(workers)):.0%} of the load) not run to the end"
            for w, why in lost.items()
        )
        merged.failure = described
    return merged


def _fraction(plan: LoadPlan, shard: LoadPlan, count: int) -> float:
    if plan.open_model:  # rates and stages are divided evenly
        return 1.0 / count
    if plan.iterations is not None:
        return (shard.iterations or 0) / plan.iterations
    return shard.users / plan.users if plan.users else 0.0
