"""The small path syntax for JSON conditions."""

from __future__ import annotations

import pytest

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.health.jsonpath import parse_condition

DOC = {"status": "ok", "checks": {"database": {"status": "ok", "latency_ms": 4}}, "items": [{"id": 2}, {"id": 7}]}


@pytest.mark.parametrize(
    ("expression", "passed"),
    [
        ('checks.database.status == "ok"', True),
        ("checks.database.status == 'ok'", True),
        ('status != "down"', True),
        ("items.1.id > 3", True),
        ("items.0.id > 3", False),
        ("items.-1.id == 7", True),
        ("checks.database.latency_ms <= 4", True),
        ("checks.database", True),
        ("checks.cache", False),
    ],
)
def test_condition_holds_as_expected_when_evaluated(expression: str, passed: bool) -> None:
    assert parse_condition(expression).evaluate(DOC).passed is passed


def test_failed_condition_shows_actual_and_wanted_when_the_value_differs() -> None:
    outcome = parse_condition('checks.database.status == "down"').evaluate(DOC)
    assert outcome.message == 'checks.database.status = "ok", wanted == "down"'


def test_missing_path_names_the_segment_and_what_is_there_when_absent() -> None:
    assert parse_condition("checks.cache.status").evaluate(DOC).message == (
        "checks.cache.status: no key 'cache' in checks (keys: database)"
    )
    assert (
        parse_condition("items.5.id == 1").evaluate(DOC).message
        == "items.5.id: index 5 is out of range in items (2 items)"
    )


def test_ordering_a_string_against_a_number_fails_clearly_when_types_differ() -> None:
    outcome = parse_condition("status > 3").evaluate(DOC)
    assert not outcome.passed and outcome.message.endswith("(cannot compare)")


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("status = 'ok'", "'=' is not a comparison. Did you mean '=='?"),
        ("status == ok", "'ok' is not a JSON value. Quote strings: \"ok\""),
        ("status ==", "missing the value after '=='"),
        ("", "expected a string"),
    ],
)
def test_malformed_condition_is_a_config_error_naming_the_part_when_parsed(expression: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_condition(expression, where="[tool.prodgate.health] endpoint 'live'")
    assert str(caught.value).startswith("[tool.prodgate.health] endpoint 'live': JSON condition")
    assert reason in str(caught.value)
