"""Readiness gates for the shop: may this release go out? (``pytest gates -m readiness``)

Written as a user would: the ``readiness`` fixture runs each check with its options from
``[tool.prodgate.readiness]`` and fails the gate with one line per problem.
"""

from __future__ import annotations

import pytest


@pytest.mark.readiness
def test_required_environment_is_set(readiness):
    # Which variables, of which types, comes from [tool.prodgate.readiness.env.required],
    # merged with the chosen environment's table (production asks for more).
    readiness.env()


@pytest.mark.readiness
def test_shop_database_is_reachable(readiness, prodgate):
    # The demo's SQLite database unless database_url / PRODGATE_DATABASE_URL names another.
    result = readiness.database(prodgate.database_url, thresholds=["latency < 500ms"], timeout="5s")
    assert result.figures["latency"] > 0


@pytest.mark.readiness
def test_host_has_memory_disk_and_descriptors_to_spare(readiness):
    readiness.system(["memory < 85%", "disk < 90%", "fds_used < 80%"])


@pytest.mark.readiness(severity="warning")
def test_host_cpu_is_not_saturated(readiness):
    # A busy CI machine should warn, not block: CPU is sampled over a fraction of a second.
    readiness.system(["cpu < 80%"], cpu_interval="500ms")


@pytest.mark.readiness
def test_code_is_lint_clean(readiness):
    readiness.lint("pytest_prodgate", "gates")  # relative to the pyproject.toml
