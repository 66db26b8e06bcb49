"""A failing load gate says why: errors by kind and status code, the worst scenarios, and one hint per cause."""

from __future__ import annotations

import pytest

from pytest_prodgate.errors import GateFailed
from pytest_prodgate.performance.breakdown import breakdown, hints
from pytest_prodgate.performance.recorder import new_histogram
from pytest_prodgate.performance.result import LoadResult, ScenarioResult


def scenario(
    name: str, latencies_ms: list[float], *, errors: dict[str, int] | None = None, status: dict[str, int] | None = None
) -> ScenarioResult:
    histogram = new_histogram()
    for ms in latencies_ms:
        histogram.record_value(int(ms * 1000))  # microseconds, as the recorder keeps them
    return ScenarioResult(
        name, requests=len(latencies_ms), errors=dict(errors or {}), status=dict(status or {}), histogram=histogram
    )


def result(*scenarios: ScenarioResult, generator_cpu: float = 0.2, workers: int = 1) -> LoadResult:
    return LoadResult(
        target="http://127.0.0.1:1",
        scenarios={s.name: s for s in scenarios},
        duration=10.0,
        generator_cpu=generator_cpu,
        workers=workers,
    )


def test_errors_are_broken_down_by_kind_and_status_code_when_a_path_is_missing() -> None:
    run = result(
        scenario("home", [2.0] * 30, status={"200": 30}),
        scenario("legacy", [1.0] * 70, errors={"4xx": 70}, status={"404": 70}),
    )
    lines = breakdown(run)
    assert lines[0] == "errors: 70 of 100 requests (70 %): 4xx 70 (status 404: 70)"
    assert lines[1].startswith("worst scenarios: legacy 70 errors of 70 (100 %), p95 1 ms; home 0 errors of 30 (0 %)")
    assert any(line.startswith("hint: 4xx responses 70: the requests do not fit this target (404") for line in lines)
    assert not any("5xx" in line or "connect" in line for line in lines)


@pytest.mark.parametrize(
    ("errors", "phrase"),
    [
        (
            {"connect": 12},
            "connect errors 12: the server did not accept connections; its listen backlog or worker count",
        ),
        ({"timeout": 3}, "timeouts 3: requests outlived the read timeout"),
        ({"reset": 5}, "connection resets 5: the server closed connections under load"),
        ({"5xx": 9}, "5xx responses 9: the server failed while handling requests"),
    ],
)
def test_hint_names_the_cause_with_its_count_when_errors_of_that_kind_happened(
    errors: dict[str, int], phrase: str
) -> None:
    run = result(scenario("home", [5.0] * 100, errors=errors, status={"500": 9} if "5xx" in errors else {}))
    found = hints(run)
    assert [h for h in found if h.startswith(phrase)], found
    assert len([h for h in found if "errors" in h or "responses" in h or "resets" in h or "timeouts" in h]) == 1


def test_hint_says_a_few_requests_stall_when_p99_is_far_above_p50() -> None:
    run = result(scenario("home", [2.0] * 95 + [400.0] * 5))
    assert [
        h for h in hints(run) if h.startswith("p99 400 ms is 200x p50 2 ms: most requests are fast and a few stall")
    ]


def test_hint_says_every_request_is_slow_when_p50_is_close_to_p99() -> None:
    run = result(scenario("home", [300.0] * 50 + [320.0] * 50))
    found = hints(run)
    assert [h for h in found if h.startswith("p50 300 ms and p99 320 ms are close: every request is slow")], found


def test_hint_says_the_generator_is_the_bottleneck_when_its_cpu_is_above_80_percent() -> None:
    run = result(scenario("home", [2.0] * 100), generator_cpu=0.93, workers=2)
    assert hints(run) == [
        "generator CPU 93 %: the load generator is the bottleneck and its figures understate the server; add workers (now 2)"
    ]


def test_no_hint_when_the_figures_show_nothing_unusual() -> None:
    assert breakdown(result(scenario("home", [2.0] * 50 + [3.0] * 50))) == []


def test_failing_check_message_ends_with_the_breakdown() -> None:
    run = result(scenario("api", [1.0] * 10, errors={"5xx": 10}, status={"503": 10}))
    with pytest.raises(GateFailed) as info:
        run.check("error_rate < 1%")
    message = str(info.value)
    assert message.startswith("error_rate = 100 %, wanted < 1 %")
    assert "errors: 10 of 10 requests (100 %): 5xx 10 (status 503: 10)" in message
    assert "hint: 5xx responses 10:" in message
