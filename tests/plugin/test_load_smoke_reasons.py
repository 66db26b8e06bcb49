"""A failed smoke request in the ``load`` fixture is a failed gate with one paragraph, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import MisbehavingServer, free_port

pytest_plugins = ["pytester"]

NO_TRACEBACK = ["*Traceback*", "*engine.py*", "*uvloop*", "*smoke.py*", "*run_until_complete*", "E   *"]


@pytest.fixture(scope="module")
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer().running() as running:
        yield running


def assert_no_traceback(result: pytest.RunResult) -> None:
    for pattern in NO_TRACEBACK:
        result.stdout.no_fnmatch_line(pattern)


def test_a_500ing_endpoint_errors_the_gate_with_one_paragraph_when_smoke_tested(
    pytester: pytest.Pytester, server: MisbehavingServer
) -> None:
    # Before: a 67-line traceback through engine.py, uvloop and smoke.py ending in SmokeFailed.
    pytester.makepyfile(
        test_gates="""
        import pytest

        @pytest.mark.performance(thresholds=["p95 < 1s"])
        def test_default_target(load):
            load.run(users=2, iterations=20)
        """
    )
    result = pytester.runpytest("--base-url", server.url + "/status/500", "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "load run failed: the smoke request of scenario 'default' to http://127.0.0.1:*/status/500: "
            "GET /status/500 answered 500 Internal Server Error, wanted a status below 400, so the load was not "
            "started. Likely fix: fix the target (its logs say why it fails this request), or give the scenario "
            "the status it should get (Template(..., expect=500)); smoke=False (prodgate load --no-smoke) skips "
            "the smoke requests.",
            "  HTTP 500 Internal Server Error",
            "*",
            "test_gates.py:5",
        ]
    )
    result.stdout.fnmatch_lines(["ERROR test_gates.py::test_default_target - load run failed: the smoke request*"])
    assert_no_traceback(result)


def test_a_closed_port_errors_the_gate_with_the_likely_fix_when_smoke_tested(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gates="""
        import pytest

        @pytest.mark.performance(thresholds=["p95 < 1s"])
        def test_dead(load):
            load.run(users=2, duration="30s")
        """
    )
    result = pytester.runpytest("--base-url", f"http://127.0.0.1:{free_port()}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "load run failed: target http://127.0.0.1:* is unreachable: connection refused (127.0.0.1:*). "
            "The smoke request of scenario 'default' could not connect, so the load was not started. "
            "Likely fix: start the target, or correct the base URL (--base-url, base_url in ?tool.prodgate?)",
        ]
    )
    assert_no_traceback(result)


def test_a_flow_error_names_the_line_of_the_flow_when_smoke_tested(
    pytester: pytest.Pytester, server: MisbehavingServer
) -> None:
    pytester.makepyfile(
        test_gates="""
        import pytest
        from pytest_prodgate.performance import Flow

        async def checkout(user):
            await user.get("/")
            raise KeyError("price")

        @pytest.mark.performance(thresholds=["p95 < 1s"])
        @pytest.mark.asyncio
        async def test_flow(load):
            await load.arun([Flow(checkout)], users=1, iterations=5)
        """
    )
    result = pytester.runpytest("--base-url", server.url, "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "load run failed: the smoke run of flow 'checkout' raised KeyError: 'price' at test_gates.py:6 in "
            "checkout (against http://127.0.0.1:*), so the load was not started. Likely fix: correct the flow's "
            "code at that line*",
        ]
    )
    assert_no_traceback(result)


def test_a_hanging_endpoint_names_the_timeout_when_smoke_tested(
    pytester: pytest.Pytester, server: MisbehavingServer
) -> None:
    pytester.makepyfile(
        test_gates="""
        import pytest
        from pytest_prodgate.performance import Template

        @pytest.mark.performance
        def test_hang(load):
            load.run([Template("/hang", name="hang")], users=1, iterations=3, timeout="500ms")
        """
    )
    result = pytester.runpytest("--base-url", server.url, "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["load run failed: the smoke request of scenario 'hang' to *: GET /hang got no answer (timeout: *), *timeout=*"]
    )
    assert_no_traceback(result)
