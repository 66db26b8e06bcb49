"""The gate summary table, with and without pytest-xdist."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import pytest

@pytest.mark.performance(thresholds=["p95 < 500ms"])
def test_catalogue_load(gate):
    gate.record("p95", 0.041)

@pytest.mark.performance(thresholds=["p95 < 500ms"])
def test_search_load(gate):
    gate.record("p95", 0.812)

@pytest.mark.data(thresholds=["violations == 0"])
def test_orphans(gate):
    gate.record("violations", 0)

@pytest.mark.readiness(severity="warning", thresholds=["days_left > 14"])
def test_certificate(gate):
    gate.record("days_left", 5)

@pytest.mark.health
def test_live():
    pass

def test_not_a_gate():
    pass
"""


def outcomes(result: pytest.RunResult) -> dict[str, int]:
    return {k: v for k, v in result.parseoutcomes().items() if k != "warnings"}


TABLE = [
    "*= prodgate gates: 1 fail, 1 warning, 3 pass =*",
    "readiness    test_certificate     WARNING  days_left 5, wanted > 14",
    "data         test_orphans         PASS     violations 0 == 0",
    "performance  test_catalogue_load  PASS     p95 41 ms < 500 ms",
    "             test_search_load     FAIL     p95 812 ms, wanted < 500 ms",
    "health       test_live            PASS",
]


def test_table_groups_gates_by_family_when_the_run_ends(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest()
    assert outcomes(result) == {"passed": 4, "failed": 1, "warned": 1}
    result.stdout.fnmatch_lines(TABLE, consecutive=True)
    result.stdout.no_fnmatch_line("*test_not_a_gate*PASS*")


def test_table_is_the_same_when_run_with_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-n", "2")
    assert outcomes(result) == {"passed": 4, "failed": 1, "warned": 1}
    result.stdout.fnmatch_lines(TABLE, consecutive=True)
