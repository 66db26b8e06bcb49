"""pytest-benchmark's statistics as gate figures, judged by the performance marker's thresholds."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

FAST = "--benchmark-max-time=0.05"  # keep the inner runs short; the figures are what is tested

BENCHMARKED = """
import pytest

@pytest.mark.performance(thresholds=["{threshold}"])
def test_sum_is_fast(benchmark):
    assert benchmark(lambda: sum(range(1000))) == 499500
"""


def test_benchmark_gate_passes_when_the_mean_is_under_the_threshold(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bench=BENCHMARKED.format(threshold="mean < 1s"))
    result = pytester.runpytest(FAST, "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*prodgate gates: 1 pass*", "performance  test_sum_is_fast  PASS  mean * < 1 s"])


def test_benchmark_gate_fails_with_the_measured_mean_when_the_threshold_is_missed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bench=BENCHMARKED.format(threshold="mean < 1ns"))
    result = pytester.runpytest(FAST, "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "mean = * ns, wanted < 1 ns",
            "*figure*measured*wanted*verdict*",
            "*mean*ns*< 1 ns*FAIL*",
            "performance  test_sum_is_fast  FAIL  mean * ns, wanted < 1 ns",
        ]
    )


def test_every_statistic_is_recorded_in_base_units_when_the_benchmark_ran(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import json

        def pytest_prodgate_gate_judged(item, entry):
            print("ENTRY " + json.dumps({"figures": dict(entry.figures), "details": dict(entry.details)}))
        """
    )
    pytester.makepyfile(
        test_bench="""
        import time
        import pytest

        @pytest.mark.performance(thresholds=["mean < 1s", "ops > 10", "rounds >= 3"])
        def test_sleepy(benchmark):
            benchmark.pedantic(time.sleep, args=(0.002,), rounds=5, iterations=1)
        """
    )
    result = pytester.runpytest("-s", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    line = next(line for line in result.outlines if "ENTRY " in line)
    entry = json.loads(line.split("ENTRY ", 1)[1])
    figures = entry["figures"]
    assert set(figures) == {"min", "max", "mean", "median", "stddev", "ops", "rounds"}
    assert figures["rounds"] == 5
    assert 0.002 <= figures["min"] <= figures["median"] <= figures["max"]
    assert figures["ops"] == pytest.approx(1 / figures["mean"])
    assert entry["details"]["benchmark"]["name"] == "test_sleepy"  # (the conftest printed the entry as JSON)


def test_gate_errors_with_the_reason_when_benchmarks_are_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bench=BENCHMARKED.format(threshold="mean < 1s"))
    result = pytester.runpytest("--benchmark-disable", "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "no benchmark figures (mean) to judge: pytest-benchmark is disabled (--benchmark-disable); "
            "drop that option or add --benchmark-enable",
            "performance  test_sum_is_fast  ERROR  no benchmark figures (mean) to judge: pytest-benchmark is disabled*",
        ]
    )


def test_gate_errors_naming_xdist_when_benchmarks_run_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bench=BENCHMARKED.format(threshold="mean < 1s"))
    result = pytester.runpytest("-n", "1", "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*no benchmark figures (mean) to judge: pytest-benchmark disables itself under pytest-xdist; run benchmark "
            "gates with -n 0 (or -p no:xdist)*"
        ]
    )


def test_plain_benchmarks_are_untouched_when_there_is_no_performance_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bench="""
        def test_plain(benchmark):
            benchmark(lambda: 1)
        """
    )
    result = pytester.runpytest(FAST, "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*prodgate gates*")
