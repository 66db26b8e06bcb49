"""Throughput is a rate: shown with its unit (``16.4/s``) and written with one in thresholds (``100/s``)."""

from __future__ import annotations

import pytest

from pytest_prodgate.errors import ThresholdError
from pytest_prodgate.performance.result import LoadResult, ScenarioResult
from pytest_prodgate.thresholds import Kind, figure_kind, format_value, parse_threshold


@pytest.mark.parametrize(
    ("expression", "value", "unit"),
    [
        ("rps >= 100/s", 100.0, "/s"),
        ("rps >= 100 /s", 100.0, "/s"),
        ("rps >= 6000/min", 100.0, "/min"),
        ("rps >= 100", 100.0, ""),
    ],
)
def test_rate_threshold_parses_to_per_second_when_written_with_or_without_a_unit(
    expression: str, value: float, unit: str
) -> None:
    threshold = parse_threshold(expression)
    assert threshold.value == pytest.approx(value)
    assert threshold.unit == unit


def test_rate_failure_message_shows_the_unit_on_both_sides_when_rps_misses() -> None:
    # Before: "rps = 16.4, wanted >= 100", and "rps >= 100/s" was refused ("unexpected '/s' after the value").
    result = parse_threshold("rps >= 100/s").judge({"rps": 16.4})
    assert not result.passed
    assert result.message == "rps = 16.4/s, wanted >= 100/s"
    assert parse_threshold("rps >= 100").judge({"rps": 16.4}).message == "rps = 16.4/s, wanted >= 100/s"
    assert parse_threshold("search: rps > 5/s").judge({"search.rps": 7.25}).passed


def test_rate_threshold_is_refused_when_the_unit_does_not_fit() -> None:
    with pytest.raises(ThresholdError, match="'ms' does not fit 'rps', which is a rate"):
        parse_threshold("rps >= 100ms")
    with pytest.raises(ThresholdError, match="'/s' does not fit 'p95', which is a duration"):
        parse_threshold("p95 < 100/s")
    with pytest.raises(ThresholdError, match="'/x' is not a unit"):
        parse_threshold("rps >= 100/x")


def test_rps_and_ops_are_rates_when_judging_units() -> None:
    assert figure_kind("rps") is Kind.RATE
    assert figure_kind("checkout.rps") is Kind.RATE
    assert figure_kind("ops") is Kind.RATE
    assert figure_kind("requests") is Kind.NUMBER
    assert format_value(16.4, kind=Kind.RATE) == "16.4/s"


def test_load_table_shows_throughput_per_second_when_summarised() -> None:
    part = ScenarioResult("default", requests=164, status={200: 164})
    rows = dict(LoadResult(target="http://t/", scenarios={"default": part}, duration=10.0).summary_rows())
    assert rows["rps"] == "16.4/s"
    assert rows["requests"] == "164"
