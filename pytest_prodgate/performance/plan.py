"""What a load run should do (``LoadPlan``), checked up front, and the open model's arrival schedule."""

from __future__ import annotations

import math
import os
import re
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pytest_prodgate.errors import ConfigError, ThresholdError
from pytest_prodgate.performance.scenarios import Scenario, normalise
from pytest_prodgate.thresholds import Threshold, parse_duration, parse_thresholds

__all__ = ["LoadPlan", "arrival_times", "make_plan", "planned_arrivals"]

DEFAULT_DURATION = 10.0
CLUSTER_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss|inproc)://\S+$")


@dataclass(frozen=True)
class LoadPlan:
    """A validated description of one load run (durations in seconds, rates per second).

    Closed model: ``users`` virtual users, each sending its next request when the last one
    answered (after ``think_time``), started evenly over ``ramp_up``; for ``duration`` seconds
    or until ``iterations`` requests/flows in all. Open model (``rate`` or ``stages`` given):
    arrivals on a fixed schedule, latency counted from each arrival's scheduled time.
    """

    url: str
    scenarios: tuple[Scenario, ...]
    users: int = 10
    duration: float | None = DEFAULT_DURATION
    iterations: int | None = None
    ramp_up: float = 0.0
    think_time: tuple[float, float] = (0.0, 0.0)
    rate: float | None = None
    stages: tuple[tuple[float, float], ...] = ()
    max_connections: int = 1000
    slack: float = 1.0
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 60.0
    verify: bool | str | ssl.SSLContext = True
    headers: Mapping[str, str] = field(default_factory=dict)
    workers: int = 1
    smoke: bool = True
    abort_on_fail: bool = False
    thresholds: tuple[Threshold, ...] = ()
    min_samples: int = 100
    quiet: bool = False
    interval: float = 1.0
    seed: int | None = None
    cluster: str | None = None  # a Dask scheduler's address: run the plan's shards on its workers

    @property
    def open_model(self) -> bool:
        return self.rate is not None or bool(self.stages)

    @property
    def has_flows(self) -> bool:
        from pytest_prodgate.performance.scenarios import Flow

        return any(isinstance(s, Flow) for s in self.scenarios)

    def share(self, index: int, count: int) -> LoadPlan:
        """This plan's part for worker ``index`` of ``count``: users, iterations and rates divided."""

        def part(total: int) -> int:
            return total // count + (1 if index < total % count else 0)

        return replace(
            self,
            users=max(part(self.users), 1 if self.open_model else 0),
            iterations=None if self.iterations is None else part(self.iterations),
            rate=None if self.rate is None else self.rate / count,
            stages=tuple((d, r / count) for d, r in self.stages),
            max_connections=max(1, self.max_connections // count),
            workers=1,
            smoke=False,
            quiet=True,
            seed=None if self.seed is None else self.seed + index,
            cluster=None,
        )


def _number(value: Any, key: str, *, integer: bool = False, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
        noun = "a whole number" if integer else "a number"
        raise ConfigError(f"{key} must be {noun}, got {value!r}", where=key)
    if value < minimum or not math.isfinite(value):
        raise ConfigError(f"{key} must be at least {minimum:g}, got {value!r}", where=key)
    return float(value)


def _duration(value: Any, key: str) -> float:
    try:
        seconds = parse_duration(value, what=f"duration for {key}")
    except ThresholdError as exc:
        raise ConfigError(exc.reason, where=key) from None
    if seconds < 0 or not math.isfinite(seconds):
        raise ConfigError(f"{key} must not be negative, got {value!r}", where=key)
    return seconds


def auto_workers() -> int:
    """Half the cores (at least one): the other half is left to the target when it is local."""
    return max(1, (os.cpu_count() or 2) // 2)


def make_plan(
    url: str,
    scenarios: Any = None,
    *,
    users: int | None = None,
    duration: str | float | None = None,
    iterations: int | None = None,
    ramp_up: str | float = 0.0,
    think_time: str | float | Sequence[str | float] = 0.0,
    rate: float | None = None,
    stages: Sequence[tuple[str | float, float]] | None = None,
    max_connections: int = 1000,
    slack: str | float = 1.0,
    connect_timeout: str | float = 5.0,
    read_timeout: str | float | None = None,
    timeout: str | float | None = None,
    deadline: str | float | None = None,
    verify: bool | str | ssl.SSLContext = True,
    headers: Mapping[str, str] | None = None,
    workers: int | str = 1,
    smoke: bool = True,
    abort_on_fail: bool = False,
    thresholds: Sequence[str | Threshold] | str = (),
    min_samples: int = 100,
    quiet: bool = False,
    interval: str | float = 1.0,
    seed: int | None = None,
    cluster: str | None = None,
) -> LoadPlan:
    """Check every setting and build a ``LoadPlan``; a mistake is a ``ConfigError`` naming the key."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{url!r} is not an http(s) URL. Expected e.g. http://127.0.0.1:8000/", where="url")
    parsed_stages = tuple((_duration(d, "stages"), _number(r, "stages rate")) for d, r in (stages or ()))
    open_model = rate is not None or bool(parsed_stages)
    if rate is not None:
        rate = _number(rate, "rate")
    if users is None:
        users = 10
    users = int(_number(users, "users", integer=True, minimum=0 if open_model else 1))
    if iterations is not None:
        iterations = int(_number(iterations, "iterations", integer=True, minimum=1))
    seconds: float | None
    if parsed_stages:
        if duration is not None:
            raise ConfigError("give either stages or duration, not both: the stages set the duration", where="duration")
        seconds = sum(d for d, _ in parsed_stages)
    elif duration is not None:
        seconds = _duration(duration, "duration")
        if seconds <= 0:
            raise ConfigError(f"duration must be positive, got {duration!r}", where="duration")
    else:
        seconds = None if iterations is not None else DEFAULT_DURATION
    if open_model and seconds is None:
        seconds = DEFAULT_DURATION
    if rate is not None and rate <= 0 and not parsed_stages:
        raise ConfigError(f"rate must be positive, got {rate!r}", where="rate")
    if isinstance(think_time, (list, tuple)):
        if len(think_time) != 2:
            raise ConfigError("think_time must be a duration or a (min, max) pair", where="think_time")
        think = (_duration(think_time[0], "think_time"), _duration(think_time[1], "think_time"))
        if think[1] < think[0]:
            raise ConfigError("think_time (min, max): max is below min", where="think_time")
    else:
        one = _duration(think_time, "think_time")
        think = (one, one)
    read = _duration(
        read_timeout if read_timeout is not None else (timeout if timeout is not None else 10.0), "read_timeout"
    )
    connect = _duration(connect_timeout, "connect_timeout")
    if read <= 0 or connect <= 0:
        raise ConfigError("timeouts must be positive", where="timeout")
    ramp = _duration(ramp_up, "ramp_up")
    if deadline is None:
        whole = (seconds or 0.0) + ramp + read + connect + 10.0 if seconds else 600.0
    else:
        whole = _duration(deadline, "deadline")
    if workers == "auto":
        count = auto_workers()
    else:
        count = int(_number(workers, "workers", integer=True, minimum=1))
    if isinstance(thresholds, str):
        thresholds = [thresholds]
    parsed_thresholds = tuple(t if isinstance(t, Threshold) else parse_thresholds([t])[0] for t in thresholds)
    if cluster is not None and (not isinstance(cluster, str) or not CLUSTER_ADDRESS.match(cluster)):
        raise ConfigError(
            f"{cluster!r} is not a Dask scheduler address. Expected e.g. tcp://10.0.0.5:8786", where="cluster"
        )
    return LoadPlan(
        url=url,
        scenarios=tuple(normalise(scenarios)),
        users=users,
        duration=seconds,
        iterations=iterations,
        ramp_up=ramp,
        think_time=think,
        rate=rate,
        stages=parsed_stages,
        max_connections=int(_number(max_connections, "max_connections", integer=True, minimum=1)),
        slack=_duration(slack, "slack"),
        connect_timeout=connect,
        read_timeout=read,
        deadline=whole,
        verify=verify,
        headers=dict(headers or {}),
        workers=count,
        smoke=bool(smoke),
        abort_on_fail=bool(abort_on_fail),
        thresholds=parsed_thresholds,
        min_samples=int(_number(min_samples, "min_samples", integer=True, minimum=1)),
        quiet=bool(quiet),
        interval=_duration(interval, "interval") or 1.0,
        seed=seed,
        cluster=cluster or None,
    )


def _stages_of(plan: LoadPlan) -> tuple[float, tuple[tuple[float, float], ...]]:
    if plan.stages:
        return (plan.rate or 0.0), plan.stages
    return (plan.rate or 0.0), ((plan.duration or DEFAULT_DURATION, plan.rate or 0.0),)


def arrival_times(plan: LoadPlan) -> Iterator[float]:
    """Scheduled send times (seconds from the start) of every arrival, rates linear within a stage.

    Within a stage from rate r0 to r1 over D seconds, arrivals so far are
    N(t) = r0 t + (r1 - r0) t^2 / (2D); arrival k is sent when N(t) reaches k.
    """
    start_rate, stages = _stages_of(plan)
    limit = plan.iterations
    begin = 0.0
    done = 0.0  # arrivals before this stage (fractional)
    k = 0
    r0 = start_rate
    for length, r1 in stages:
        a = (r1 - r0) / (2 * length) if length > 0 else 0.0
        total = done + (r0 + r1) * length / 2
        while k < total - 1e-9:
            if limit is not None and k >= limit:
                return
            m = k - done
            if m <= 0:
                tau = 0.0
            elif r0 > 0 or a > 0:
                tau = 2 * m / (r0 + math.sqrt(max(r0 * r0 + 4 * a * m, 0.0)))
            else:
                tau = length + 1.0  # no rate in this stage
            if tau > length:
                break
            yield begin + tau
            k += 1
        begin += length
        done = total
        r0 = r1


def planned_arrivals(plan: LoadPlan) -> int:
    start_rate, stages = _stages_of(plan)
    r0 = start_rate
    total = 0.0
    for length, r1 in stages:
        total += (r0 + r1) * length / 2
        r0 = r1
    count = math.ceil(total - 1e-9)
    return min(count, plan.iterations) if plan.iterations is not None else count
