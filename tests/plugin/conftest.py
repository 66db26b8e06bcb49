from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _inner_runs_are_isolated(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs must not see the outer run's prodgate settings (set after pytester clears the env)."""
    for name in ("PRODGATE_ENV", "PRODGATE_DEMO_FAULTS", "PRODGATE_DATABASE_URL", "PYTEST_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(
        "PYTEST_ADDOPTS",
        "-p no:cacheprovider -o asyncio_default_fixture_loop_scope=function -W ignore::pytest.PytestAssertRewriteWarning",
    )
