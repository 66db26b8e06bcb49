"""With CI=true, nothing in our own suite may skip: a skip there is a missing dependency, service or
tool (``importorskip``, ``require_port``, a module-level skip), and it fails the run instead.

The suite skips nothing on a complete machine (the README's set-up and ``.ci/run`` install it all),
so every skip is turned into a failure, whatever its wording: a test report's, and a collection
report's (a module-level ``pytest.importorskip("django")`` skips at collection, not in a test).
Skips inside pytester's inner runs belong to those runs and are not touched.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.services import in_ci


def _reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"CI=true: {_reason(report.longrepr)} (a test of ours never skips in CI)"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if in_ci() and report.skipped:
        report.outcome = "failed"
        report.longrepr = (
            f"CI=true: {collector.nodeid}: {_reason(report.longrepr)} (a test module of ours never skips in CI)"
        )
    return report
