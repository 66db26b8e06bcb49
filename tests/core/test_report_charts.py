"""SVG charts for performance gates: complete data, partial data, nonsense."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pytest_prodgate.report.charts import errors_chart, latency_chart, load_charts, throughput_chart

SVG = "{http://www.w3.org/2000/svg}"
LOAD = {
    "series": [{"t": t, "rps": 100 + t, "p95": 0.04 + t / 1000, "errors": t % 2} for t in range(30)],
    "percentiles": {"p50": 0.012, "p95": 0.041, "p99": 0.09},
    "histogram": [[0.005 * i, 10 * i] for i in range(1, 25)],
}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_three_charts_are_drawn_when_the_load_result_is_complete() -> None:
    charts = load_charts({"load": LOAD})
    assert len(charts) == 3
    latency, throughput, errors = (parse(c) for c in charts)
    marks = [line.get("class") for line in latency.iter(f"{SVG}line") if "mark" in (line.get("class") or "")]
    assert marks == ["mark mark-p50", "mark mark-p95", "mark mark-p99"]
    assert len([r for r in latency.iter(f"{SVG}rect") if r.get("class") == "bar"]) == 24
    assert {p.get("class") for p in throughput.iter(f"{SVG}polyline")} == {"line line-rps", "line line-p95"}
    assert len(list(throughput.find(f"{SVG}polyline").get("points").split())) == 30  # type: ignore[union-attr]
    assert "15 in all" in "".join(errors.itertext())


def test_no_script_and_no_external_reference_when_charts_are_drawn() -> None:
    text = "".join(load_charts({"load": LOAD}))
    assert (
        "<script" not in text and "href" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    )


@pytest.mark.parametrize(
    ("load", "count"),
    [
        ({"percentiles": {"p95": 0.2}}, 1),  # markers without a histogram
        ({"histogram": [[0.01, 3]]}, 1),
        ({"series": [{"t": 0, "rps": 10}]}, 1),  # throughput only; no errors recorded
        ({"series": [{"t": 0, "errors": 0}, {"t": 1, "errors": 0}]}, 1),  # zero errors still drawn
        ({"series": "nonsense", "histogram": [["x", None], [1]], "percentiles": [1, 2]}, 0),
        ({}, 0),
    ],
)
def test_charts_with_missing_data_are_left_out_when_the_load_result_is_partial(
    load: dict[str, object], count: int
) -> None:
    charts = load_charts({"load": load})
    assert len(charts) == count
    for chart in charts:
        parse(chart)


def test_no_charts_when_a_gate_has_no_load_result() -> None:
    assert load_charts({}) == [] and load_charts(None) == [] and load_charts({"load": [1, 2]}) == []
    assert latency_chart() is None and throughput_chart(None) is None and errors_chart([]) is None


def test_series_without_times_uses_positions_when_t_is_missing() -> None:
    svg = throughput_chart([{"requests": 5}, {"requests": 7}])
    assert svg is not None and len(parse(svg).find(f"{SVG}polyline").get("points").split()) == 2  # type: ignore[union-attr]


# What the load fixture attaches: percentiles without a histogram, a series with per-interval figures.
LOAD_FIXTURE_SHAPE = {
    "percentiles": {
        "min": 0.002,
        "avg": 0.02,
        "p50": 0.015,
        "p90": 0.04,
        "p95": 0.05,
        "p99": 0.09,
        "p99.9": 0.2,
        "max": 0.31,
    },
    "series": [
        {"t": 1.0 * t, "requests": 100, "rps": 100.0, "errors": 0, "p50": 0.015, "p95": 0.05, "p99": None}
        for t in range(10)
    ],
    "scenarios": {"browse": {"requests": 1000}},
}


def test_percentile_curve_is_drawn_when_there_is_no_histogram() -> None:
    charts = load_charts({"load": LOAD_FIXTURE_SHAPE})
    assert len(charts) == 3
    latency = parse(charts[0])
    curve = latency.find(f"{SVG}polyline")
    assert curve is not None and curve.get("class") == "line line-cdf"
    assert len(curve.get("points", "").split()) == 7  # min, p50, p90, p95, p99, p99.9, max (avg is not a rank)
    assert "Latency distribution (percentiles)" in "".join(latency.itertext())
    assert len([m for m in latency.iter(f"{SVG}line") if "mark-" in (m.get("class") or "")]) == 3


def test_each_named_load_result_gets_its_charts_when_a_gate_ran_several() -> None:
    charts = load_charts({"load.search": LOAD_FIXTURE_SHAPE, "load": LOAD_FIXTURE_SHAPE, "attempts": [1]})
    assert len(charts) == 6
    titles = ["".join(parse(c).find(f"{SVG}title").itertext()) for c in charts]  # type: ignore[union-attr]
    assert (
        titles[0] == "Latency distribution (percentiles)" and titles[3] == "search: Latency distribution (percentiles)"
    )
