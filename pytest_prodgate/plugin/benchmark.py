"""pytest-benchmark under the ``performance`` marker: its statistics become the gate's figures.

```python
@pytest.mark.performance(thresholds=["mean < 2ms", "ops > 1000"])
def test_price_formatting_is_fast(benchmark):
    benchmark(format_price, 1999)
```

After the test body ran (and so the ``benchmark`` call), the statistics are recorded as figures in
base units: ``min``, ``max``, ``mean``, ``median``, ``stddev`` (seconds per call), ``ops`` (calls per
second) and ``rounds``; the marker's thresholds then judge them and they reach the reports.

Why ``pytest_pyfunc_call``: the plugin judges the thresholds when its ``pytest_runtest_call`` wrapper
resumes, and every ``pytest_runtest_call`` wrapper resumes only after the test function has returned
from ``pytest_pyfunc_call``, which this wrapper encloses. So the figures are always recorded first,
whatever order the plugins were registered in.

pytest-benchmark disables itself under pytest-xdist (and with ``--benchmark-disable``): then there are
no statistics, and a gate whose thresholds name a benchmark figure is an error saying so.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.plugin.markers import spec_key
from pytest_prodgate.plugin.stash import gate_for

BENCHMARK_FIGURES = ("min", "max", "mean", "median", "stddev", "ops", "rounds")


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    fixture = getattr(pyfuncitem, "funcargs", {}).get("benchmark")
    if fixture is None or spec_key not in pyfuncitem.stash:
        return (yield)
    try:
        result = yield
    except BaseException:
        # The test failed on its own: keep what was measured for the report, but its error comes first.
        try:
            record_benchmark(pyfuncitem, fixture)
        except ConfigError:
            pass
        raise
    record_benchmark(pyfuncitem, fixture)
    return result


def record_benchmark(item: pytest.Function, fixture: Any) -> None:
    """Record the benchmark's statistics into the item's gate (or say why there are none)."""
    gate = gate_for(item)
    metadata = getattr(fixture, "stats", None)
    stats = getattr(metadata, "stats", None)
    if stats is None or not stats:
        wanted = sorted({t.key for t in gate.thresholds} & set(BENCHMARK_FIGURES))
        if getattr(fixture, "disabled", False) and wanted:
            raise ConfigError(f"no benchmark figures ({', '.join(wanted)}) to judge: {_disabled_reason(item.config)}")
        return
    figures = {name: float(getattr(stats, name)) for name in BENCHMARK_FIGURES}
    gate.record_many(figures)
    gate.attach(
        "benchmark",
        {"name": getattr(metadata, "name", item.name), "group": getattr(metadata, "group", None), **figures},
    )


def _disabled_reason(config: pytest.Config) -> str:
    session = getattr(config, "_benchmarksession", None)
    if getattr(session, "xdist_warning", False):
        return "pytest-benchmark disables itself under pytest-xdist; run benchmark gates with -n 0 (or -p no:xdist)"
    return "pytest-benchmark is disabled (--benchmark-disable); drop that option or add --benchmark-enable"
