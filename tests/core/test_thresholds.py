"""The threshold language: parsing, units, judging, and errors that point at the bad token."""

from __future__ import annotations

import math
import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_prodgate.errors import ThresholdError
from pytest_prodgate.thresholds import (
    Kind,
    Verdict,
    evaluate,
    figure_kind,
    format_value,
    parse_duration,
    parse_threshold,
    parse_thresholds,
)

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
BYTE_UNITS = {"B": 1.0, "KB": 1024.0, "MB": 1024.0**2, "GB": 1024.0**3}


@pytest.mark.parametrize(
    ("expression", "key", "op", "value"),
    [
        ("p95 < 500ms", "p95", "<", 0.5),
        ("avg <= 2s", "avg", "<=", 2.0),
        ("error_rate < 1%", "error_rate", "<", 0.01),
        ("success_rate >= 99%", "success_rate", ">=", 0.99),
        ("rps >= 10", "rps", ">=", 10.0),
        ("days_left > 14", "days_left", ">", 14.0),
        ("rows == 0", "rows", "==", 0.0),
        ("search: p95 < 300ms", "search.p95", "<", 0.3),
        ("growth_per_100 < 10MB", "growth_per_100", "<", 10 * 1024**2),
        ("p99.9 != 1h", "p99.9", "!=", 3600.0),
        ("null_rate < 0.1%", "null_rate", "<", 0.001),
        ("cpu < 80%", "cpu", "<", 0.8),
    ],
)
def test_expression_parses_to_base_units_when_written_with_a_unit(
    expression: str, key: str, op: str, value: float
) -> None:
    threshold = parse_threshold(expression)
    assert (threshold.key, threshold.op) == (key, op)
    assert math.isclose(threshold.value, value)


@pytest.mark.parametrize(
    ("expression", "token", "phrase"),
    [
        ("p95 < fast", "fast", "'fast' is not a duration. Expected e.g. 500ms or 2s"),
        ("p95 < 500", "500", "needs a unit"),
        ("p95 = 5ms", "=", "Did you mean '=='?"),
        ("error_rate < 5ms", "ms", "does not fit 'error_rate', which is a fraction"),
        ("p95 < 5xs", "xs", "'xs' is not a unit"),
        ("p95 < 5ms and more", "and", "unexpected 'and'"),
        ("< 5ms", "<", "is not a figure name"),
        ("p95 ~ 5ms", "~", "is not a comparison"),
    ],
)
def test_malformed_expression_names_the_bad_token_when_parsed(expression: str, token: str, phrase: str) -> None:
    with pytest.raises(ThresholdError) as info:
        parse_threshold(expression, where="[tool.prodgate.performance] thresholds[0]")
    assert info.value.token == token
    assert phrase in str(info.value)
    assert str(info.value).startswith(f"threshold {expression!r} in [tool.prodgate.performance] thresholds[0]: ")
    assert "\n" not in str(info.value)


def test_failure_message_shows_measured_against_wanted_when_a_threshold_fails() -> None:
    results = evaluate(
        ["p95 < 500ms", "error_rate < 1%", "rps >= 10"], {"p95": 0.812, "error_rate": 0.0042, "rps": 123.4}
    )
    assert [r.verdict for r in results] == [Verdict.FAIL, Verdict.PASS, Verdict.PASS]
    assert results[0].message == "p95 = 812 ms, wanted < 500 ms"
    assert results[1].message == "error_rate = 0.42 %, wanted < 1 %"
    assert results[0].measured == 0.812


def test_missing_figure_is_an_error_never_a_pass_when_not_recorded() -> None:
    (result,) = evaluate(["p59 < 1s"], {"p95": 0.1})
    assert result.verdict is Verdict.ERROR
    assert "no figure 'p59' was recorded (did you mean 'p95'?)" in result.message


def test_nan_figure_is_an_error_when_recorded() -> None:
    (result,) = evaluate(["p95 < 1s"], {"p95": float("nan")})
    assert result.verdict is Verdict.ERROR


def test_scoped_threshold_reads_the_scenario_figure_when_written_with_a_colon() -> None:
    (result,) = evaluate(["search: p95 < 300ms"], {"p95": 0.1, "search.p95": 0.45})
    assert result.verdict is Verdict.FAIL
    assert result.message == "search: p95 = 450 ms, wanted < 300 ms"


def test_single_string_counts_as_a_list_when_given_to_parse_thresholds() -> None:
    assert [t.key for t in parse_thresholds("p95 < 1s")] == ["p95"]
    with pytest.raises(ThresholdError):
        parse_thresholds(42)  # type: ignore[arg-type]


def test_figure_kind_follows_the_name_when_judging_units() -> None:
    assert figure_kind("p99.9") is Kind.DURATION
    assert figure_kind("search.p95") is Kind.DURATION
    assert figure_kind("error_rate") is Kind.FRACTION
    assert figure_kind("growth_per_100") is Kind.BYTES
    assert figure_kind("rps") is Kind.RATE
    assert figure_kind("checkout_widgets") is Kind.ANY


@pytest.mark.parametrize(("text", "seconds"), [("500ms", 0.5), ("2s", 2.0), ("1.5m", 90.0), (3, 3.0), ("120", 120.0)])
def test_duration_parses_when_given_text_or_a_number(text: str | int, seconds: float) -> None:
    assert math.isclose(parse_duration(text), seconds)


@pytest.mark.parametrize("bad", ["fast", "5MB", "", True])
def test_duration_is_refused_when_not_a_duration(bad: object) -> None:
    with pytest.raises(ThresholdError, match="is not a duration"):
        parse_duration(bad)  # type: ignore[arg-type]


numbers = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 3))


@settings(max_examples=300, deadline=None)
@given(
    op=st.sampled_from(sorted(OPS)),
    number=numbers,
    unit=st.sampled_from(sorted(DURATION_UNITS)),
    measured=st.floats(0, 1e7),
)
def test_duration_threshold_judges_like_the_operator_when_parsed(
    op: str, number: float, unit: str, measured: float
) -> None:
    threshold = parse_threshold(f"p95 {op} {number}{unit}")
    assert math.isclose(threshold.value, number * DURATION_UNITS[unit], rel_tol=1e-12)
    (result,) = evaluate([threshold], {"p95": measured})
    assert result.passed is OPS[op](measured, threshold.value)
    assert result.message.startswith("p95 = ")


@settings(max_examples=200, deadline=None)
@given(op=st.sampled_from(sorted(OPS)), number=numbers, unit=st.sampled_from(sorted(BYTE_UNITS)), spaced=st.booleans())
def test_byte_threshold_scales_by_1024_when_written_in_kb_mb_gb(
    op: str, number: float, unit: str, spaced: bool
) -> None:
    threshold = parse_threshold(f"growth_per_100 {op} {number}{' ' if spaced else ''}{unit}")
    assert math.isclose(threshold.value, number * BYTE_UNITS[unit], rel_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(percent=st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 4)))
def test_percent_is_a_fraction_when_written_with_percent_sign(percent: float) -> None:
    threshold = parse_threshold(f"error_rate < {percent}%")
    assert math.isclose(threshold.value, percent / 100, rel_tol=1e-12, abs_tol=1e-15)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_parser_raises_only_threshold_errors_when_fed_any_text(text: str) -> None:
    try:
        parse_threshold(text)
    except ThresholdError as exc:
        assert "\n" not in str(exc).replace(text, "")
    # Anything that parses judges without raising.
    else:
        evaluate([text], {})


@settings(max_examples=200, deadline=None)
@given(value=st.floats(1e-6, 1e6), unit=st.sampled_from(["ms", "s", "%", "MB", ""]))
def test_format_value_round_trips_to_three_significant_digits_when_shown(value: float, unit: str) -> None:
    factor = {"ms": 1e-3, "s": 1.0, "%": 0.01, "MB": 1024.0**2, "": 1.0}[unit]
    shown = format_value(value * factor, unit)
    number = float(shown.split()[0])
    assert math.isclose(number, value, rel_tol=5e-3)
