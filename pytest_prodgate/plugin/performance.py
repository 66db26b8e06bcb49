"""pytest glue of the ``performance`` family: ``load``, ``server_memory`` and pytest-benchmark figures.

The ``load`` fixture: the load engine bound to the target (``base_url``) and the current gate.

    @pytest.mark.performance(thresholds=["p95 < 500ms", "error_rate < 1%", "search: p95 < 300ms"])
    def test_shop_under_load(load):
        load.run(shop_scenarios(), users=20, duration="10s")

The result's figures are recorded into the gate, so the marker's thresholds judge them; the
per-second series and the percentiles are attached for the reports. ``[tool.prodgate.performance]``
supplies defaults (users, duration, rate, workers, timeout...).


The ``server_memory`` fixture: the server memory gate's pytest glue over ``pytest_prodgate.performance.memory``.

```python
@pytest.mark.performance(thresholds=["growth_per_100 < 10MB"])
def test_server_memory_stays_flat(server_memory):
    server_memory("/products", requests=200)
```

The process watched is ``pid=``, else ``[tool.prodgate.performance.memory] pid`` (or ``pidfile``),
else the embedded demo service's. Defaults for the call come from the same table.

pytest-benchmark under the ``performance`` marker: its statistics become the gate's figures.

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

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.errors import ConfigError, CouldNotRun, TargetError
from pytest_prodgate.plugin.stash import SPEC, gate_for

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.context import Prodgate
    from pytest_prodgate.gate import Gate
    from pytest_prodgate.performance.memory import MemoryResult
    from pytest_prodgate.performance.plan import LoadPlan
    from pytest_prodgate.performance.result import LoadResult
    from pytest_prodgate.thresholds import Threshold

__all__ = ["LoadFixture", "load"]


class LoadFixture:
    """``load.run(...)`` / ``await load.arun(...)``: run, record the figures into the gate, return the result."""

    def __init__(self, gate: Gate, base_url: str | None, defaults: dict[str, Any], quiet: bool = False) -> None:
        self.gate = gate
        self.base_url = base_url
        self.defaults = defaults
        self.quiet = quiet
        self.results: list[LoadResult] = []

    @property
    def result(self) -> LoadResult | None:
        """The last run's result."""
        return self.results[-1] if self.results else None

    def plan(
        self,
        scenarios: Any = None,
        *,
        url: str | None = None,
        thresholds: Sequence[str | Threshold] = (),
        **settings: Any,
    ) -> LoadPlan:
        """The plan ``run`` would execute: configuration defaults, then these keywords."""
        from pytest_prodgate.performance.plan import make_plan

        target = url or self.base_url
        if not target:
            raise ConfigError(
                "the load fixture has no target: pass --base-url, set base_url in [tool.prodgate] or use the demo"
            )
        merged = dict(self.defaults)
        merged.update(settings)
        if ("rate" in settings or "stages" in settings) and "users" not in settings:
            merged.pop("users", None)  # a configured closed-model user count is not an open-model pool size
        if "stages" in settings and "duration" not in settings:
            merged.pop("duration", None)
        merged.setdefault("quiet", self.quiet)
        from pytest_prodgate.thresholds import Threshold, parse_threshold  # with the first load, not every run

        judged = [t if isinstance(t, Threshold) else parse_threshold(t) for t in thresholds]
        watched = list(judged) + [t for t in self.gate.thresholds if t.expression not in {j.expression for j in judged}]
        return make_plan(target, scenarios, thresholds=watched, **merged)

    def run(
        self,
        scenarios: Any = None,
        *,
        url: str | None = None,
        thresholds: Sequence[str | Threshold] = (),
        record_as: str | None = None,
        **settings: Any,
    ) -> LoadResult:
        """Run the load (in a thread when called inside a running event loop) and record it."""
        __tracebackhide__ = True
        from pytest_prodgate.performance.engine import run_plan

        plan = self.plan(scenarios, url=url, thresholds=thresholds, **settings)
        try:
            result = run_plan(plan)
        except TargetError as exc:  # a failed smoke request: its paragraph, not a traceback through the engine
            raise CouldNotRun(f"load run failed: {exc}") from None
        return self._record(result, thresholds, record_as)

    async def arun(
        self,
        scenarios: Any = None,
        *,
        url: str | None = None,
        thresholds: Sequence[str | Threshold] = (),
        record_as: str | None = None,
        **settings: Any,
    ) -> LoadResult:
        """``run`` for async tests: the load runs on its own loop in a thread; this one stays free."""
        __tracebackhide__ = True
        from pytest_prodgate.performance.engine import arun_plan

        plan = self.plan(scenarios, url=url, thresholds=thresholds, **settings)
        try:
            result = await arun_plan(plan)
        except TargetError as exc:
            raise CouldNotRun(f"load run failed: {exc}") from None
        return self._record(result, thresholds, record_as)

    def _record(self, result: LoadResult, thresholds: Sequence[str | Threshold], record_as: str | None) -> LoadResult:
        __tracebackhide__ = True
        self.results.append(result)
        self.gate.record_many({k: v for k, v in result.figures.items()}, prefix=record_as)
        details = {
            "target": result.target,
            "model": result.model,
            "workers": result.workers,
            "duration": result.duration,
            "generator_cpu": result.generator_cpu,
            "aborted": result.aborted,
            "failure": result.failure,
            "percentiles": result.percentiles(),
            "scenarios": {
                name: {"requests": s.requests, "status": s.status, "errors": s.errors}
                for name, s in result.scenarios.items()
            },
            "series": result.series_dicts(),
        }
        if result.cluster is not None:  # the workers by address, without their histograms
            details["cluster"] = {
                "scheduler": result.cluster["scheduler"],
                "workers": [{k: v for k, v in w.items() if k != "hdr"} for w in result.cluster["workers"]],
            }
        self.gate.attach(f"load.{record_as}" if record_as else "load", details)
        from pytest_prodgate.performance.breakdown import breakdown

        prefix = f"{record_as}: " if record_as else ""
        self.gate.notes.extend(prefix + line for line in breakdown(result))
        if result.failure:
            raise CouldNotRun(f"load run failed: {result.failure}")
        if thresholds:
            self.gate.check(*thresholds, figures=result.figures)
        return result


@pytest.fixture
def load(request: pytest.FixtureRequest, gate: Gate, prodgate: Prodgate) -> LoadFixture:
    """The load engine bound to the target and this test's gate: ``load.run(shop_scenarios(), users=20)``."""
    from pytest_prodgate.performance.config import cluster_address, plan_settings

    try:
        defaults = plan_settings(prodgate.section("performance"))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    cluster = cluster_address(defaults.get("cluster"))  # configured, else PRODGATE_CLUSTER
    if cluster:
        defaults["cluster"] = cluster
    if "timeout" not in defaults and "read_timeout" not in defaults and prodgate.settings.get("timeout") is not None:
        defaults["timeout"] = prodgate.settings["timeout"]
    quiet = request.config.get_verbosity() < 0
    return LoadFixture(gate, prodgate.base_url, defaults, quiet=quiet)


WHERE = "[tool.prodgate.performance.memory]"


class ServerMemory:
    """Measures the server's memory across requests and records ``rss``, ``growth``, ``growth_per_100``.

    The process is ``pid=`` if given, else ``[tool.prodgate.performance.memory] pid`` / ``pidfile``,
    else the embedded demo service's; with none of them the test is skipped, saying how to set one.
    """

    def __init__(self, gate: Gate, prodgate: Prodgate) -> None:
        self.gate = gate
        self.settings: dict[str, Any] = dict(prodgate.section("performance").get("memory") or {})
        self.demo = prodgate.demo
        self.base_url = prodgate.base_url
        self.result: MemoryResult | None = None

    def target(self, pid: int | None = None) -> tuple[int, str | None]:
        """The process to watch and the base URL that relative paths go to."""
        __tracebackhide__ = True
        from pytest_prodgate.performance.memory import pid_from_settings

        try:
            configured = pid if pid is not None else pid_from_settings(self.settings, WHERE)
        except TargetError as exc:
            raise CouldNotRun(f"server memory: {exc}") from None
        if configured is not None:
            return configured, self.base_url
        if self.demo is not None:
            return self.demo.pid, self.demo.base_url
        pytest.skip(
            f"server memory: no server process to watch; set {WHERE} pid or pidfile "
            "(a process on this machine), pass pid=, or run against the embedded demo"
        )

    def __call__(
        self,
        path: str | None = None,
        *,
        pid: int | None = None,
        requests: int | None = None,
        warmup: int | None = None,
        samples: int | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> MemoryResult:
        """Send the requests to ``path`` (or a full URL), sample the memory, record the figures.

        A process that is gone, or a target that answers nothing, fails the gate with the reason.
        """
        __tracebackhide__ = True
        from pytest_prodgate.performance.memory import (
            DEFAULT_DEADLINE,
            DEFAULT_PATH,
            DEFAULT_REQUESTS,
            DEFAULT_SAMPLES,
            DEFAULT_TIMEOUT,
            DEFAULT_WARMUP,
            measure_memory,
        )
        from pytest_prodgate.thresholds import parse_duration

        s = self.settings
        watched, base_url = self.target(pid)
        path = path if path is not None else s.get("path", DEFAULT_PATH)
        if path.startswith(("http://", "https://")):
            url = path
        elif base_url:
            url = f"{base_url.rstrip('/')}/{path.lstrip('/')}"
        else:
            pytest.skip("server memory: no base URL to send requests to (give --base-url or a full URL)")
        try:
            result = measure_memory(
                watched,
                url,
                requests=requests if requests is not None else s.get("requests", DEFAULT_REQUESTS),
                warmup=warmup if warmup is not None else s.get("warmup", DEFAULT_WARMUP),
                samples=samples if samples is not None else s.get("samples", DEFAULT_SAMPLES),
                timeout=timeout if timeout is not None else parse_duration(s.get("timeout", DEFAULT_TIMEOUT)),
                deadline=deadline if deadline is not None else parse_duration(s.get("deadline", DEFAULT_DEADLINE)),
                headers=headers,
            )
        except TargetError as exc:
            raise CouldNotRun(f"server memory: {exc}") from None
        self.result = result
        self.gate.record_many(result.figures())
        self.gate.attach("memory", result.to_dict())
        return result


@pytest.fixture
def server_memory(gate: Gate, prodgate: Prodgate) -> ServerMemory:
    """Measure a server's resident memory (with its children) across requests: ``server_memory("/products")``."""
    return ServerMemory(gate, prodgate)


BENCHMARK_FIGURES = ("min", "max", "mean", "median", "stddev", "ops", "rounds")


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    fixture = getattr(pyfuncitem, "funcargs", {}).get("benchmark")
    if fixture is None or SPEC not in pyfuncitem.stash:
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
