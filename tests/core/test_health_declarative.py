"""Declarative health gates: entries checked one by one, with errors naming the entry."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_prodgate.config import load_config
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.health.declarative import EndpointGate, HeadersGate, TlsGate, expand_env, load_gates, run_endpoint
from pytest_prodgate.health.probes import Probe, RetryPolicy
from pytest_prodgate.health.results import ProbeFailed
from tests.health_support import App, json_response, serve


def _load(**section: Any) -> list[Any]:
    return load_gates(section)


def test_gates_have_readable_ids_when_configured() -> None:
    gates = _load(
        endpoints=[
            {"name": "ready", "path": "/health/ready", "latency": "300ms", "json": ['status == "ok"']},
            {"path": "/health/live", "method": "HEAD", "status": [200, 204]},
            {"name": "docs", "url": "https://docs.example/"},
        ],
        tls=[{"name": "shop", "host": "shop.example"}],
        security_headers={"paths": ["/"], "waivers": {"cookies": "no cookies here"}},
    )
    assert [g.id for g in gates] == [
        "ready[GET /health/ready]",
        "live[HEAD /health/live]",
        "docs[GET https://docs.example/]",
        "shop[TLS shop.example:443]",
        "headers[GET /]",
    ]
    ready = gates[0]
    assert isinstance(ready, EndpointGate) and ready.thresholds == ("latency < 300ms",) and ready.status == (200,)
    assert isinstance(gates[1], EndpointGate) and gates[1].status == (200, 204)
    assert isinstance(gates[3], TlsGate) and gates[3].thresholds == ("days_left > 14",)
    assert isinstance(gates[4], HeadersGate) and gates[4].options.waivers == {"cookies": "no cookies here"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"name": "ready", "path": "/r", "stauts": 200},
            "endpoint 'ready': unknown key 'stauts' (did you mean 'status'?)",
        ),
        ({"path": "/r", "methd": "GET"}, "endpoints[0]: unknown key 'methd' (did you mean 'method'?)"),
        ({"name": "ready"}, "endpoint 'ready': give exactly one of 'path' (under the base URL) or 'url'"),
        ({"name": "ready", "path": "health"}, "endpoint 'ready': path 'health' must start with '/'"),
        ({"name": "ready", "path": "/r", "status": "ok"}, "endpoint 'ready': status must be an HTTP status"),
        ({"name": "ready", "path": "/r", "latency": "fast"}, "endpoint 'ready' latency: 'fast' is not a duration"),
        ({"name": "ready", "path": "/r", "method": "FETCH"}, "endpoint 'ready' method must be one of 'GET'"),
        ({"name": "ready", "path": "/r", "thresholds": ["latency < 3"]}, "'3' needs a unit"),
    ],
)
def test_mistake_is_a_config_error_naming_the_entry_when_an_endpoint_is_wrong(
    entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(endpoints=[entry])
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_duplicate_ids_are_a_config_error_when_two_entries_share_a_name() -> None:
    with pytest.raises(ConfigError, match="two gates are named 'ready"):
        _load(endpoints=[{"name": "ready", "path": "/r"}, {"name": "ready", "path": "/r"}])


def test_health_section_passes_the_shared_config_loader_when_valid() -> None:
    table = {"health": {"retries": 2, "deadline": "30s", "endpoints": [{"name": "ready", "path": "/r", "oops": 1}]}}
    config = load_config(None, table=table, env={})
    # The shared loader accepts the list; the entry is checked (and named) by load_gates.
    with pytest.raises(ConfigError, match="endpoint 'ready': unknown key 'oops'"):
        load_gates(config.section("health"))


def test_env_variables_fill_placeholders_and_a_missing_one_is_named() -> None:
    assert expand_env("Bearer ${SHOP_TOKEN}", where="x", env={"SHOP_TOKEN": "t"}) == "Bearer t"
    with pytest.raises(
        ConfigError, match="endpoint 'ready' headers.Authorization: environment variable SHOP_TOKEN is not set"
    ):
        expand_env("Bearer ${SHOP_TOKEN}", where="endpoint 'ready' headers.Authorization", env={})


def test_run_endpoint_probes_with_its_expectations_when_the_gate_runs() -> None:
    seen: list[str | None] = []

    def handler(path: str, i: int) -> tuple[int, list[tuple[str, str]], bytes]:
        return json_response(200, {"checks": {"database": {"status": "down"}}})

    (gate,) = _load(
        endpoints=[
            {"name": "detailed", "path": "/health/detailed", "json": ['checks.database.status == "ok"'], "retries": 1}
        ]
    )
    with serve(App(handler)) as url:
        probe = Probe(url, policy=RetryPolicy(backoff=0.01), on_result=lambda result, name: seen.append(name))
        with pytest.raises(ProbeFailed) as caught:
            run_endpoint(gate, probe)
    assert 'checks.database.status = "down", wanted == "ok"' in str(caught.value).splitlines()[0]
    assert "attempts (2 in" in str(caught.value)
    assert seen == [None]
