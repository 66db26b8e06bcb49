"""The load engine against real servers: exact counts, percentiles, chunked bodies, TLS, flows, weights."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
import trustme

from pytest_prodgate.performance import Flow, Template, VirtualUser, run_load, shop_scenarios
from pytest_prodgate.performance.engine import LoadRun
from pytest_prodgate.performance.plan import make_plan
from tests.servers import MisbehavingServer, tls_server_context, uvicorn_server


@pytest.fixture(scope="module")
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer().running() as running:
        yield running


def test_every_iteration_is_recorded_when_a_count_is_given(server: MisbehavingServer) -> None:
    before = server.requests
    result = run_load(server.url, [Template("/", name="home")], users=7, iterations=1234, smoke=False)
    assert result.figures["requests"] == 1234
    assert result.overall.histogram.get_total_count() == 1234
    assert server.requests - before == 1234
    assert result.figures["errors"] == 0
    assert result.scenarios["home"].status == {"200": 1234}


def test_percentiles_match_the_delay_when_the_endpoint_sleeps_50ms() -> None:
    with uvicorn_server() as url:
        result = run_load(url, [Template("/delay", name="delay")], users=4, duration="1.5s")
    figures = result.figures
    assert figures["requests"] >= 4  # each user answered at least once, however busy the machine
    # Never faster than the endpoint's sleep; slower only by the machine's overhead (10x margin).
    assert 0.045 <= figures["p50"] <= 0.5
    assert 0.045 <= figures["min"] <= figures["p50"] <= figures["p95"] <= figures["max"]
    assert figures["errors"] == 0


def test_chunked_bodies_are_read_when_the_server_streams(server: MisbehavingServer) -> None:
    result = run_load(server.url, [Template("/chunked", name="chunked")], users=3, iterations=300)
    assert result.figures["requests"] == 300
    assert result.figures["errors"] == 0


def test_connection_close_responses_count_as_answers_when_the_server_closes_after_each(
    server: MisbehavingServer,
) -> None:
    result = run_load(server.url, [Template("/close-after", name="once")], users=2, iterations=50)
    assert result.figures["requests"] == 50
    assert result.figures["errors"] == 0


def test_weights_share_the_requests_when_scenarios_differ(server: MisbehavingServer) -> None:
    scenarios = [Template("/", name="often", weight=3), Template("/status/200", name="seldom", weight=1)]
    result = run_load(server.url, scenarios, users=4, iterations=4000, smoke=False, seed=1)
    share = result.figures["often.requests"] / result.figures["requests"]
    assert 0.70 <= share <= 0.80


def test_shop_scenarios_carry_the_seed_weights_when_built() -> None:
    weights = {s.label: s.weight for s in shop_scenarios()}
    assert weights == {"home": 30, "search": 25, "product": 20, "listing": 15, "category": 10}
    plan = make_plan("http://127.0.0.1:9/", shop_scenarios(), iterations=1)
    run = LoadRun(plan)
    lines = {e.data.split(b"\r\n", 1)[0] for e in run.table}
    assert b"GET /search?q=espresso HTTP/1.1" in lines
    assert b"GET /products/1 HTTP/1.1" in lines
    assert b"GET /categories/coffee HTTP/1.1" in lines


def test_json_bodies_are_sent_when_a_template_has_json(server: MisbehavingServer) -> None:
    seen = []

    async def flow(user: VirtualUser) -> None:
        response = await user.post("/echo", json={"a": 1})
        seen.append(response.json())

    result = run_load(server.url, [Flow(flow, name="echo")], users=1, iterations=2)
    assert result.figures["requests"] == 2
    assert seen[-1] == {"method": "POST", "body": '{"a":1}', "type": "application/json"}


def test_cookies_stay_with_their_user_when_a_flow_logs_in(server: MisbehavingServer) -> None:
    async def visit(user: VirtualUser) -> None:
        await user.get("/cookie")
        response = await user.get("/whoami")
        user.check(response.json()["cookie"] == "session=abc", "cookie kept")
        user.check(response.status == 201, "created")  # fails: /whoami answers 200

    result = run_load(server.url, [Flow(visit)], users=2, iterations=10, smoke=False)
    assert result.figures["requests"] == 20
    assert result.scenarios["visit"].checks_failed == {"created": 10}
    assert result.figures["errors_check"] == 10


def test_tls_works_when_the_certificate_is_trusted() -> None:
    ca = trustme.CA()
    with MisbehavingServer(tls=tls_server_context(ca)).running() as tls, ca.cert_pem.tempfile() as bundle:
        trusted = run_load(tls.url, users=2, iterations=100, verify=bundle)
        unverified = run_load(tls.url, users=2, iterations=100, verify=False)
        refused = run_load(tls.url, users=2, iterations=10)
    assert trusted.figures["requests"] == 100 and trusted.figures["errors"] == 0
    assert unverified.figures["requests"] == 100 and unverified.figures["errors"] == 0
    assert refused.failure is not None and "certificate verification failed" in refused.failure


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as stderr does in a shell."""

    def isatty(self) -> bool:
        return True


def test_progress_is_shown_when_stderr_is_a_terminal(server: MisbehavingServer) -> None:
    terminal, pipe = Terminal(), io.StringIO()
    run_load(server.url, users=2, duration="1.2s", interval="300ms", stream=terminal)
    run_load(server.url, users=2, duration="0.5s", interval="200ms", stream=pipe)
    quiet = Terminal()
    run_load(server.url, users=2, duration="0.5s", interval="200ms", stream=quiet, quiet=True)
    assert (
        "rps  p95 " in terminal.getvalue()
        and "/1s" in terminal.getvalue()
        and "errors 0 (0.00%)" in terminal.getvalue()
    )
    assert pipe.getvalue() == "" and quiet.getvalue() == ""


def test_the_run_ends_at_the_deadline_when_it_would_run_longer(server: MisbehavingServer) -> None:
    started = time.monotonic()
    result = run_load(
        server.url, [Template("/delay", query={"ms": "20"}, name="slow")], users=2, iterations=10**9, deadline="1s"
    )
    assert time.monotonic() - started < 30  # a billion iterations would take weeks; a slow machine, seconds
    assert result.aborted == "deadline of 1s reached"
    assert result.figures["requests"] > 0


def test_users_start_over_the_ramp_when_a_ramp_up_is_given(server: MisbehavingServer) -> None:
    result = run_load(
        server.url,
        [Template("/delay", query={"ms": "100"}, name="slow")],
        users=10,
        duration="1s",
        ramp_up="800ms",
        interval="250ms",
    )
    # Each answer takes 100 ms of the server's sleep, so a user's pace is set by the sleep, not by
    # how busy the CPU is: about 5 answers in the first quarter (users 1-3), about 25 once all ten run.
    first, busiest = result.series[0], max(result.series, key=lambda point: point.requests)
    assert first.requests < busiest.requests / 1.5  # few users in the first quarter, all ten later
