"""Every error kind is classified, a broken target fails fast, a dead one never hangs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pytest_prodgate.performance import Flow, SmokeFailed, Template, VirtualUser, run_load
from tests.servers import MisbehavingServer, free_port


@pytest.fixture(scope="module")
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer().running() as running:
        yield running


def kinds(result: object) -> dict[str, float]:
    return {k: v for k, v in result.figures.items() if k.startswith("errors_") and v}  # type: ignore[attr-defined]


def test_5xx_and_4xx_are_counted_apart_when_the_server_answers_them(server: MisbehavingServer) -> None:
    scenarios = [Template("/status/500", name="broken"), Template("/status/404", name="missing")]
    result = run_load(server.url, scenarios, users=2, iterations=200, smoke=False, seed=3)
    assert kinds(result) == {
        "errors_5xx": result.figures["broken.requests"],
        "errors_4xx": result.figures["missing.requests"],
    }
    assert result.figures["error_rate"] == 1.0
    assert result.figures["success_rate"] == 0.0
    assert result.scenarios["broken"].status == {"500": result.scenarios["broken"].requests}


def test_an_expected_status_is_no_error_when_the_template_names_it(server: MisbehavingServer) -> None:
    result = run_load(server.url, [Template("/status/404", expect=404, name="gone")], users=1, iterations=20)
    assert result.figures["errors"] == 0 and result.figures["status_404"] == 20


def test_a_hanging_request_is_a_timeout_when_the_read_timeout_passes(server: MisbehavingServer) -> None:
    started = time.monotonic()
    result = run_load(
        server.url, [Template("/hang", name="hang")], users=2, duration="1s", read_timeout="300ms", smoke=False
    )
    assert time.monotonic() - started < 30  # the hang lasts an hour; the read timeout ends each wait
    assert kinds(result) == {"errors_timeout": result.figures["requests"]}
    assert result.figures["requests"] >= 2
    assert result.figures["max"] >= 0.3  # a timed-out request counts at least its wait


def test_a_response_cut_short_is_a_reset_when_the_server_closes_mid_body(server: MisbehavingServer) -> None:
    result = run_load(server.url, [Template("/close", name="cut")], users=2, iterations=30, smoke=False)
    assert result.figures["requests"] == 30
    assert kinds(result) == {"errors_reset": 30}


def test_failed_checks_are_errors_when_a_flow_checks(server: MisbehavingServer) -> None:
    async def flow(user: VirtualUser) -> None:
        response = await user.get("/")
        user.check(response.text == "goodbye", "greeting")

    result = run_load(server.url, [Flow(flow, name="greet")], users=1, iterations=5, smoke=False)
    assert kinds(result) == {"errors_check": 5}
    assert result.scenarios["greet"].checks_failed == {"greeting": 5}


def test_a_dead_target_fails_with_the_reason_when_nothing_listens() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    started = time.monotonic()
    result = run_load(url, users=5, duration="120s")
    assert time.monotonic() - started < 30  # the smoke run fails at once: no 120 s of refused connections
    assert result.failure is not None and "connection refused" in result.failure
    assert result.figures["errors_connect"] == 1 and result.figures["error_rate"] == 1.0
    assert not result.ok


def test_connect_errors_are_counted_when_the_target_dies_without_a_smoke_run() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    started = time.monotonic()
    result = run_load(url, users=2, duration="500ms", smoke=False)
    assert time.monotonic() - started < 30  # refused at once, each time: no connect timeouts to sit out
    assert result.figures["errors_connect"] == result.figures["requests"] > 0
    assert result.failure is not None and "connection refused" in result.failure


def test_smoke_shows_the_response_with_secrets_masked_when_a_scenario_fails(server: MisbehavingServer) -> None:
    with pytest.raises(SmokeFailed) as caught:
        run_load(
            server.url,
            [Template("/secret", name="secret", headers={"Authorization": "Bearer hush"})],
            users=50,
            duration="30s",
        )
    message = str(caught.value)
    assert "scenario 'secret'" in message and "GET /secret answered 500" in message
    assert "Set-Cookie: ********" in message and "supersecret" not in message and "hush" not in message
    assert "boom boom" in message and "(1,500 bytes)" in message


def test_smoke_reports_a_flow_error_when_the_flow_raises(server: MisbehavingServer) -> None:
    async def buggy(user: VirtualUser) -> None:
        await user.get("/")
        raise KeyError("price")

    with pytest.raises(SmokeFailed, match="flow 'buggy' raised KeyError: 'price'"):
        run_load(server.url, [Flow(buggy)], users=1, iterations=3)


def test_flow_exceptions_are_counted_when_smoke_is_off(server: MisbehavingServer) -> None:
    async def buggy(user: VirtualUser) -> None:
        raise ValueError("oops")

    result = run_load(server.url, [Flow(buggy)], users=1, iterations=3, smoke=False)
    assert result.scenarios["buggy"].errors == {"flow": 3}
