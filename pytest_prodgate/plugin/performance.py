"""The ``load`` fixture: the load engine bound to the target (``base_url``) and the current gate.

    @pytest.mark.performance(thresholds=["p95 < 500ms", "error_rate < 1%", "search: p95 < 300ms"])
    def test_shop_under_load(load):
        load.run(shop_scenarios(), users=20, duration="10s")

The result's figures are recorded into the gate, so the marker's thresholds judge them; the
per-second series and the percentiles are attached for the reports. ``[tool.prodgate.performance]``
supplies defaults (users, duration, rate, workers, timeout...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.errors import ConfigError, TargetError
from pytest_prodgate.gate import Gate
from pytest_prodgate.thresholds import Threshold, parse_threshold

# The load engine (httpx, httptools, hdrhistogram...) is imported inside the methods and the fixture
# that use it, so a run without a performance gate never loads it.
if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.context import Prodgate
    from pytest_prodgate.performance.plan import LoadPlan
    from pytest_prodgate.performance.result import LoadResult

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
        return self._record(run_plan(plan), thresholds, record_as)

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
        return self._record(await arun_plan(plan), thresholds, record_as)

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
        self.gate.attach(f"load.{record_as}" if record_as else "load", details)
        if result.failure:
            raise TargetError(f"load run failed: {result.failure}")
        if thresholds:
            self.gate.check(*thresholds, figures=result.figures)
        return result


@pytest.fixture
def load(request: pytest.FixtureRequest, gate: Gate, prodgate: Prodgate) -> LoadFixture:
    """The load engine bound to the target and this test's gate: ``load.run(shop_scenarios(), users=20)``."""
    from pytest_prodgate.performance.config import plan_settings

    try:
        defaults = plan_settings(prodgate.section("performance"))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if "timeout" not in defaults and "read_timeout" not in defaults and prodgate.settings.get("timeout") is not None:
        defaults["timeout"] = prodgate.settings["timeout"]
    quiet = request.config.get_verbosity() < 0
    return LoadFixture(gate, prodgate.base_url, defaults, quiet=quiet)
