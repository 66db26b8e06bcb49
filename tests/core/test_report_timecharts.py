"""The charts a reviewer sees first: axes scaled to the data, the baseline drawn, status codes counted."""

from __future__ import annotations

import re

import pytest

from pytest_prodgate.report.htmlparts import charts_section_html
from pytest_prodgate.report.timecharts import (
    TOP,
    latency_over_time_chart,
    rate_over_time_chart,
    scale_for,
    status_chart,
)

SERIES = [{"t": t, "rps": 100 + t, "errors": t % 2, "p50": 0.0013, "p95": 0.0021, "p99": 0.0026} for t in range(1, 11)]


def test_linear_axis_hugs_the_data_with_round_ticks_when_values_are_small() -> None:
    scale = scale_for([0.0013, 0.0021, 0.0026])
    assert not scale.log
    assert scale.high == pytest.approx(0.003) and scale.ticks[0] == 0.0
    steps = {round(b - a, 12) for a, b in zip(scale.ticks, scale.ticks[1:], strict=False)}
    assert steps == {0.001}  # 0, 1, 2, 3 ms: the curves fill the plot instead of sitting on its floor


def test_axis_turns_logarithmic_when_values_span_more_than_two_decades() -> None:
    scale = scale_for([0.0003, 0.004, 0.31])
    assert scale.log and (scale.low, scale.high) == (pytest.approx(0.0001), pytest.approx(1.0))
    assert pytest.approx(0.001) in scale.ticks and pytest.approx(0.1) in scale.ticks
    assert scale.y(0.001) < scale.y(0.0003)  # higher on screen for larger values


def test_latency_chart_draws_three_percentiles_and_the_baseline_when_given_one() -> None:
    svg = latency_over_time_chart(SERIES, {"p50": 0.001, "p95": 0.0015, "p99": None})
    assert svg is not None
    for name in ("p50", "p95", "p99"):
        assert f'class="line line-{name}"' in svg
    assert svg.count('class="baseline"') == 2 and "baseline p95 1.5 ms" in svg
    ys = [float(y) for y in re.findall(r'class="line line-p50" points="[\d.]+,([\d.]+)', svg)]
    assert ys and ys[0] < TOP + 200  # the p50 curve is off the axis floor


def test_latency_chart_is_left_out_when_the_series_has_no_percentiles() -> None:
    assert latency_over_time_chart([{"t": 1, "rps": 3}]) is None
    assert latency_over_time_chart("not a series") is None


def test_rate_charts_show_requests_with_the_baseline_and_errors_in_all() -> None:
    rps = rate_over_time_chart(SERIES, "rps", baseline=250.0)
    errors = rate_over_time_chart(SERIES, "errors")
    assert rps is not None and "baseline 250" in rps and 'class="line line-rps"' in rps
    assert errors is not None and "Errors per second (5 in all)" in errors


def test_status_chart_counts_codes_and_failure_kinds_across_scenarios() -> None:
    svg = status_chart(
        {
            "home": {"status": {"200": 90}, "errors": {}},
            "legacy": {"status": {"404": 30, "200": 10}, "errors": {"4xx": 30, "connect": 5}},
        }
    )
    assert svg is not None
    assert "100 (74.1%)" in svg and "30 (22.2%)" in svg and "5 (3.7%)" in svg
    assert 'class="bar status-connect"' in svg and "status-4xx" not in svg  # 4xx is already the 404 bar
    assert status_chart({}) is None


def test_charts_section_puts_failing_gates_first_and_skips_gates_without_load() -> None:
    report = {
        "gates": [
            {"name": "test_ok", "verdict": "pass", "nodeid": "a", "details": {"load": {"series": SERIES}}},
            {
                "name": "test_slow",
                "verdict": "fail",
                "nodeid": "b",
                "decided_by": "p95 2 s",
                "details": {"load": {"series": SERIES}},
            },
            {"name": "test_rows", "verdict": "pass", "nodeid": "c", "details": {}},
        ]
    }
    html = charts_section_html(report)
    assert html.index("test_slow") < html.index("test_ok") and "test_rows" not in html
    assert html.startswith('<div class="prodgate-charts-section" id="prodgate-charts">')
    assert charts_section_html({"gates": [report["gates"][2]]}) == ""


def test_distribution_leaves_a_far_outlier_off_the_scale_when_percentiles_are_small() -> None:
    from pytest_prodgate.report.charts import latency_chart

    svg = latency_chart(percentiles={"min": 0.0009, "p50": 0.0013, "p95": 0.0021, "p99": 0.0026, "max": 0.18})
    assert svg is not None and "max 180 ms (off scale)" in svg
    ticks = re.findall(r'text-anchor="middle">([\d.]+ ms)</text>', svg)
    assert ticks[-1] == "5.00 ms"  # the axis ends near p99 (2.6 ms), not at 200 ms
