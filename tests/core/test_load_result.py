"""LoadResult: figures in base units, JSON round trip, exact merging, thresholds, abort early, workers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from pytest_prodgate.errors import ConfigError, GateFailed
from pytest_prodgate.performance import LoadResult, Template, merge, run_load
from pytest_prodgate.performance.plan import make_plan
from tests.servers import MisbehavingServer


@pytest.fixture(scope="module")
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer().running() as running:
        yield running


@pytest.fixture(scope="module")
def mixed(server: MisbehavingServer) -> LoadResult:
    scenarios = [Template("/", name="home", weight=9), Template("/status/503", name="broken", weight=1)]
    return run_load(server.url, scenarios, users=3, iterations=1000, smoke=False, seed=7)


def test_figures_use_threshold_names_in_base_units_when_recorded(mixed: LoadResult) -> None:
    figures = mixed.figures
    for name in (
        "requests",
        "rps",
        "errors",
        "error_rate",
        "success_rate",
        "dropped",
        "min",
        "avg",
        "p50",
        "p90",
        "p95",
        "p99",
        "p99.9",
        "max",
        "generator_cpu",
    ):
        assert name in figures, name
    assert figures["requests"] == 1000
    assert figures["error_rate"] == pytest.approx(figures["broken.requests"] / 1000)
    assert figures["broken.error_rate"] == 1.0 and figures["home.error_rate"] == 0.0
    assert figures["status_503"] == figures["broken.requests"] == figures["errors_5xx"]
    assert 0 < figures["p50"] < 1  # seconds
    assert 0 < figures["generator_cpu"] <= 1.5
    assert figures["rps"] == pytest.approx(1000 / mixed.duration)


def test_the_result_survives_json_when_serialised(mixed: LoadResult) -> None:
    data = json.loads(json.dumps(mixed.to_dict(), allow_nan=False))
    again = LoadResult.from_dict(data)
    assert again.figures == pytest.approx(mixed.figures)
    assert again.overall.histogram.get_total_count() == 1000
    assert data["figures"]["p95"] == mixed.figures["p95"]
    assert sum(point["requests"] for point in data["series"]) == 1000


def test_merged_results_equal_the_sum_of_parts_when_runs_are_merged(server: MisbehavingServer) -> None:
    parts = [run_load(server.url, [Template("/", name="home")], users=2, iterations=n, smoke=False) for n in (300, 500)]
    merged = merge(parts)
    assert merged.figures["requests"] == 800
    histogram = merged.scenarios["home"].histogram
    assert histogram.get_total_count() == 800
    expected_max = max(p.figures["max"] for p in parts)
    assert merged.figures["max"] == expected_max
    assert merged.figures["min"] == min(p.figures["min"] for p in parts)
    part_counts = [list(p.scenarios["home"].histogram.counts) for p in parts]
    assert list(histogram.counts) == [a + b for a, b in zip(*part_counts, strict=True)]


def test_workers_split_the_load_and_merge_exactly_when_two_processes_run(server: MisbehavingServer) -> None:
    result = run_load(server.url, [Template("/", name="home")], users=4, iterations=2000, workers=2)
    assert result.workers == 2
    assert result.figures["requests"] == 2000
    assert result.scenarios["home"].histogram.get_total_count() == 2000
    assert sum(point.requests for point in result.series) == 2000
    assert sum(point.histogram().get_total_count() for point in result.series) == 2000


def test_check_passes_when_thresholds_hold(mixed: LoadResult) -> None:
    results = mixed.check("p95 < 5s", "home: error_rate < 1%", "requests >= 1000")
    assert all(r.passed for r in results)


def test_check_raises_a_table_when_a_threshold_fails(mixed: LoadResult) -> None:
    with pytest.raises(GateFailed) as caught:
        mixed.check("error_rate < 1%", "p95 < 5s")
    message = str(caught.value)
    assert "error_rate = " in message and "wanted < 1 %" in message
    assert "figure" in message and "measured" in message and "FAIL" in message


def test_the_run_stops_early_when_errors_exceed_what_the_threshold_allows(server: MisbehavingServer) -> None:
    result = run_load(
        server.url,
        [Template("/status/500", name="broken")],
        users=2,
        duration="120s",
        smoke=False,
        abort_on_fail=True,
        thresholds=["error_rate < 1%"],
        interval="200ms",
    )
    assert result.duration < 30  # far short of the 120 s planned, however slow the machine
    assert result.aborted is not None and "error_rate can no longer pass" in result.aborted
    with pytest.raises(GateFailed, match="aborted early"):
        result.check("error_rate < 1%")


def test_settings_are_rejected_with_the_key_when_they_are_wrong() -> None:
    with pytest.raises(ConfigError, match="duration"):
        make_plan("http://127.0.0.1:9/", duration="fast")
    with pytest.raises(ConfigError, match="users"):
        make_plan("http://127.0.0.1:9/", users=0)
    with pytest.raises(ConfigError, match="not an http"):
        make_plan("ftp://x/")
    with pytest.raises(ConfigError, match="unique"):
        make_plan("http://127.0.0.1:9/", [Template("/a", name="x"), Template("/b", name="x")])


def test_requests_cut_by_an_abort_are_dropped_when_the_run_stops_early(server: MisbehavingServer) -> None:
    started = time.monotonic()
    result = run_load(
        server.url,
        [Template("/status/500", name="broken"), Template("/hang", name="hang")],
        users=4,
        duration="120s",
        read_timeout="90s",
        smoke=False,
        abort_on_fail=True,
        thresholds=["errors < 1"],
        interval="200ms",
        seed=5,
    )
    assert time.monotonic() - started < 30  # no waiting the 90 s read timeout for the hanging requests
    assert result.aborted is not None and "errors" in result.aborted and "it can only grow" in result.aborted
    assert result.figures["hang.dropped"] >= 1
    assert result.figures["hang.requests"] == 0
