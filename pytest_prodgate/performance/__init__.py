"""The load engine: weighted scenarios, closed and open workload models, HDR percentiles, thresholds.

Plain Python (never imports pytest)::

    from pytest_prodgate.performance import Template, run_load, shop_scenarios

    result = run_load("http://127.0.0.1:8000", shop_scenarios(), users=20, duration="10s")
    result.check("p95 < 500ms", "error_rate < 1%", "search: p95 < 300ms")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_prodgate.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.performance.connection import RequestFailed, Response
    from pytest_prodgate.performance.engine import LoadRun, arun_load, arun_plan, run_load, run_plan
    from pytest_prodgate.performance.plan import LoadPlan, make_plan
    from pytest_prodgate.performance.result import LoadResult, ScenarioResult, merge
    from pytest_prodgate.performance.scenarios import Flow, Scenario, Template, shop_scenarios
    from pytest_prodgate.performance.smoke import SmokeFailed
    from pytest_prodgate.performance.users import CheckFailed, VirtualUser

__all__ = [
    "CheckFailed",
    "Flow",
    "LoadPlan",
    "LoadResult",
    "LoadRun",
    "RequestFailed",
    "Response",
    "Scenario",
    "ScenarioResult",
    "SmokeFailed",
    "Template",
    "VirtualUser",
    "arun_load",
    "arun_plan",
    "make_plan",
    "merge",
    "run_load",
    "run_plan",
    "shop_scenarios",
]

# Each submodule (and its engine) is imported when one of its names is first used.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".connection": ("RequestFailed", "Response"),
        ".engine": ("LoadRun", "arun_load", "arun_plan", "run_load", "run_plan"),
        ".plan": ("LoadPlan", "make_plan"),
        ".result": ("LoadResult", "ScenarioResult", "merge"),
        ".scenarios": ("Flow", "Scenario", "Template", "shop_scenarios"),
        ".smoke": ("SmokeFailed",),
        ".users": ("CheckFailed", "VirtualUser"),
    },
)
