"""With CI=true, a test skipped for a missing dependency or service fails instead: nothing hides."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.services import in_ci

_MISSING = ("could not import", "not reachable", "not installed", "is missing")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if in_ci() and report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if any(phrase in reason.lower() for phrase in _MISSING):
            report.outcome = "failed"
            report.longrepr = f"CI=true: {reason} (a missing dependency or service fails the test, it never skips)"
    return report
