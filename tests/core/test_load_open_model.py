"""The open model: arrivals on schedule, latency from the scheduled time, dropped arrivals counted."""

from __future__ import annotations

import math

import pytest

from pytest_prodgate.performance import Template, run_load
from pytest_prodgate.performance.plan import arrival_times, make_plan, planned_arrivals
from tests.servers import MisbehavingServer


def test_a_stall_shows_in_p99_when_arrivals_keep_their_schedule() -> None:
    # The server stalls 1 s every 5 s; 50 arrivals/s keep coming, so ~50 requests wait up to 1 s
    # (2 % of them over 0.9 s). A modest rate, so a busy machine still keeps the schedule.
    with MisbehavingServer(stall=1.0, period=5.0, stall_offset=2.0).running() as server:
        result = run_load(server.url, [Template("/stall", name="stall")], rate=50, duration="5s")
    figures = result.figures
    assert 240 <= figures["requests"] <= 251
    assert figures["p99"] >= 0.9
    assert figures["p50"] < 0.5  # most arrivals miss the stall: far below it even when the machine is slow
    assert figures["dropped"] == 0
    assert result.model == "open"


def test_arrivals_that_cannot_start_are_dropped_when_connections_run_out() -> None:
    with MisbehavingServer().running() as server:
        result = run_load(
            server.url,
            [Template("/delay", query={"ms": "200"}, name="slow")],
            rate=100,
            duration="1s",
            users=1,
            max_connections=2,
            slack="100ms",
            smoke=False,
        )
    figures = result.figures
    assert figures["dropped"] >= 50
    assert figures["requests"] + figures["dropped"] == 100
    assert figures["requests"] <= 20


def test_arrivals_follow_the_rate_when_it_is_constant() -> None:
    plan = make_plan("http://127.0.0.1:9/", rate=50, duration="2s")
    times = list(arrival_times(plan))
    assert len(times) == planned_arrivals(plan) == 100
    assert times[0] == 0.0 and times[1] == pytest.approx(0.02) and times[-1] == pytest.approx(1.98)


def test_arrivals_ramp_linearly_when_stages_are_given() -> None:
    plan = make_plan("http://127.0.0.1:9/", stages=[("2s", 100), ("1s", 100)])
    times = list(arrival_times(plan))
    # 0 -> 100/s over 2 s is 100 arrivals, then 100 more in the last second.
    assert len(times) == planned_arrivals(plan) == 200
    assert times == sorted(times)
    assert math.isclose(times[25], 1.0, abs_tol=0.02)  # N(t) = 25 t^2 reaches 25 at t = 1 s
    assert sum(1 for t in times if t >= 2.0) == 100


def test_the_rate_ramps_when_stages_run_against_a_server() -> None:
    with MisbehavingServer().running() as server:
        result = run_load(server.url, stages=[("1s", 100), ("500ms", 100)], interval="500ms")
    assert result.figures["requests"] == 100  # 50 while ramping to 100/s, then 50 at 100/s
    assert result.series[0].requests < result.series[-1].requests
