"""The ``load`` fixture: figures judged by the marker's thresholds, sync and async tests, configuration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import MisbehavingServer

pytest_plugins = ["pytester"]

GATES = """
import json
import pytest
from pytest_prodgate.performance import Template

@pytest.mark.performance(thresholds=["p95 < 2s", "error_rate < 1%", "home: requests >= 100"])
def test_healthy(load, gate):
    result = load.run([Template("/", name="home")], users=2, iterations=200)
    assert gate.figures["home.requests"] == 200
    details = gate.details["load"]
    assert sum(p["requests"] for p in details["series"]) == 200
    assert details["percentiles"]["p95"] > 0
    json.dumps(gate.details)

@pytest.mark.performance(thresholds=["error_rate < 1%"])
def test_broken(load):
    load.run([Template("/status/500", name="broken")], users=2, iterations=50, smoke=False)

@pytest.mark.performance(thresholds=["p95 < 2s"])
@pytest.mark.asyncio
async def test_async(load):
    result = await load.arun(users=2, iterations=50)
    assert result.figures["requests"] == 50

@pytest.mark.performance(thresholds=["p95 < 2s"])
@pytest.mark.asyncio
async def test_sync_call_inside_a_running_loop(load):
    result = load.run(users=2, iterations=30)
    assert result.figures["requests"] == 30
"""


@pytest.fixture(scope="module")
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer().running() as running:
        yield running


def test_marker_thresholds_judge_the_load_when_tests_use_the_fixture(
    pytester: pytest.Pytester, server: MisbehavingServer
) -> None:
    pytester.makepyfile(test_gates=GATES)
    result = pytester.runpytest("--base-url", server.url, "-p", "no:randomly")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_gates.py::test_broken - error_rate = 100 %, wanted < 1 %*"])


def test_explicit_thresholds_fail_at_once_when_given_to_run(
    pytester: pytest.Pytester, server: MisbehavingServer
) -> None:
    pytester.makepyfile(
        test_gates="""
        import pytest
        from pytest_prodgate.performance import Template

        @pytest.mark.performance
        def test_checked(load):
            load.run([Template("/status/404", name="gone")], users=1, iterations=10, smoke=False, thresholds=["gone: error_rate < 1%"])
            raise AssertionError("not reached")
        """
    )
    result = pytester.runpytest("--base-url", server.url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*gone: error_rate = 100 %, wanted < 1 %*"])
    result.stdout.no_fnmatch_line("*not reached*")


def test_configuration_supplies_defaults_when_the_section_is_set(
    pytester: pytest.Pytester, server: MisbehavingServer
) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.prodgate.performance]
        users = 3
        iterations = 42
        timeout = "2s"
        """
    )
    pytester.makepyfile(
        test_gates="""
        import pytest

        @pytest.mark.performance(thresholds=["requests == 42"])
        def test_configured(load):
            plan = load.plan()
            assert plan.users == 3 and plan.read_timeout == 2.0
            load.run()
        """
    )
    result = pytester.runpytest("--base-url", server.url)
    result.assert_outcomes(passed=1)


def test_a_wrong_setting_is_a_usage_error_when_configured(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.prodgate.performance]
        users = "many"
        """
    )
    pytester.makepyfile(test_gates="def test_x(): pass\n")
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*performance*users*must be an integer*"])
