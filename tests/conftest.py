"""With CI=true, nothing in our own suite may skip: a skip there is a missing dependency, service or
tool (``importorskip``, ``require_port``, a module-level skip), and it fails the run instead.

The suite skips nothing on a complete machine (the README's set-up and ``.ci/run`` install it all),
so every skip is turned into a failure, whatever its wording: a test report's, and a collection
report's (a module-level ``pytest.importorskip("django")`` skips at collection, not in a test).
Skips inside pytester's inner runs belong to those runs and are not touched.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import httpcore  # noqa: F401 - imported once for the session, see below
import pytest
import trustme

from tests.services import in_ci

# httpx imports httpcore lazily, at its first request, and keeps httpcore's exception classes. When
# that first request happens inside a pytester run, pytester drops httpcore from sys.modules
# afterwards, and the next import makes new classes httpx no longer maps (a TLS failure then escapes
# as httpcore.ConnectError). Importing it here keeps one httpcore for the whole session.


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    """A test certificate authority (trustme) and its certificate as a PEM bundle file."""
    authority = trustme.CA()
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return authority, bundle


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
