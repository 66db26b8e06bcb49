from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _inner_runs_are_isolated(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs must not see the outer run's prodgate settings (set after pytester clears the env)."""
    inner_clean = ("PRODGATE_ENV", "PRODGATE_DEMO_FAULTS", "PRODGATE_DATABASE_URL", "PYTEST_BASE_URL")
    xdist = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")  # an outer -n run
    for name in inner_clean + xdist:
        monkeypatch.delenv(name, raising=False)
    # Inner runs print the gate table 200 columns wide, so a row reads on one line; the tests of
    # wrapping (tests/core/test_verdict.py, the 80-column run in test_gates_e2e.py) set their own width.
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv(
        "PYTEST_ADDOPTS",
        "-p no:cacheprovider -o asyncio_default_fixture_loop_scope=function -W ignore::pytest.PytestAssertRewriteWarning",
    )
