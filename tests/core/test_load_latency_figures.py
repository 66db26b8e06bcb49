"""Latency figures computed in one pass equal hdrhistogram's own (slow, iterator-based) methods."""

from __future__ import annotations

import random

import pytest

from pytest_prodgate.performance.recorder import HIGHEST_US, new_histogram
from pytest_prodgate.performance.result import PERCENTILES, interval_percentiles, latency_figures


@pytest.mark.parametrize("seed", range(8))
def test_figures_equal_hdrhistogram_s_when_values_span_microseconds_to_minutes(seed: int) -> None:
    rng = random.Random(seed)
    histogram = new_histogram()
    for _ in range(rng.randint(1, 4000)):
        histogram.record_value(min(int(rng.lognormvariate(rng.uniform(2, 16), 1.5)) + 1, HIGHEST_US))
    figures = latency_figures(histogram)
    assert figures["avg"] == histogram.get_mean_value() / 1e6
    for name, percentile in PERCENTILES.items():
        assert figures[name] == histogram.get_value_at_percentile(percentile) / 1e6
    assert interval_percentiles(histogram) == (figures["p50"], figures["p95"], figures["p99"])


def test_figures_are_nan_and_none_when_nothing_was_recorded() -> None:
    histogram = new_histogram()
    assert all(value != value for value in latency_figures(histogram).values())  # NaN
    assert interval_percentiles(histogram) == (None, None, None)
