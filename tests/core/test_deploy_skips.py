"""A skipped gate is no pass: ``prodgate deploy`` refuses when its only blocking gate skips, unless allowed.

The allowance is the project's (``[tool.prodgate.allow_skip]`` or the marker's ``allow_skip``), and
even then a gate run in which no gate decided does not let a release through.
"""

from __future__ import annotations

import json

import pytest

from pytest_prodgate.deploy.exitcodes import DeployExit
from tests.deploy_project import ORDERS, Project, project, shop, step, step_names  # noqa: F401 (fixtures)

# Only the health gate stays in the shop's gate file: it is what the verification runs.
HEALTH_ONLY = """
import os
import httpx
import pytest

@pytest.mark.health
def test_shop_is_ready():
    response = httpx.get(os.environ["SHOP_URL"] + "/health/ready", timeout=5)
    assert response.status_code == 200, f"/health/ready answered {response.status_code}"
"""

# The pre-deploy gates: one blocking gate that skips, one warning gate that decides.
SKIPPING = """
import pytest

@pytest.mark.readiness{allowance}
def test_staging_database_answers():
    pytest.skip("the staging database is being rebuilt")

@pytest.mark.readiness(severity="warning")
def test_changelog_mentions_the_release():
    pass
"""

ALL_SKIPPED = """
import pytest

@pytest.mark.readiness
def test_staging_database_answers():
    pytest.skip("the staging database is being rebuilt")

@pytest.mark.readiness(severity="warning")
def test_changelog_mentions_the_release():
    pytest.skip("no changelog in this repository")
"""

SKIPPED_GATE = "gates/test_staging.py::test_staging_database_answers"
WHY = "the staging database is rebuilt every Sunday; the readiness gates of Monday cover it"
ALLOW_TABLE = f'[tool.prodgate.allow_skip]\n"gates/test_staging.py::test_staging_*" = "{WHY}"\n'


def gates_project(project: Project, gates: str, extra: str = "") -> Project:
    (project.root / "gates" / "test_release_gates.py").write_text(HEALTH_ONLY)
    (project.root / "gates" / "test_staging.py").write_text(gates)
    project.configure(extra)
    return project


def gate_report(project: Project, record: dict[str, object]) -> dict[str, object]:
    path = project.root / ".prodgate" / "deployments" / str(record["id"]) / "gates.json"
    report: dict[str, object] = json.loads(path.read_text())
    return report


def test_deploy_refuses_naming_the_skip_when_the_only_blocking_gate_skips(project: Project) -> None:
    gates_project(project, SKIPPING.format(allowance=""))

    done = project.deploy()

    assert done.returncode == DeployExit.GATES_FAILED, done.stdout + done.stderr
    assert not (project.root / "deploy-started").exists()  # the deploy command never ran
    assert project.shop.version() == "1.0.0" and project.orders() == ORDERS
    record = project.only_record()
    reason = "pre-deploy gates failed: 1 blocking gate did not pass (1 skipped without an allowance)"
    assert (record["outcome"], record["reason"]) == ("gates failed, nothing changed", reason)
    assert step_names(record) == ["gates"]
    gates = step(record, "gates")["gates"]
    assert gates["summary"]["skip"] == 1 and gates["summary"]["blocking_failures"] == 1
    assert gates["blocking"] == [f"{SKIPPED_GATE}: the staging database is being rebuilt"]
    assert f"      blocking: {SKIPPED_GATE}: the staging database is being rebuilt" in done.stdout.splitlines()
    assert done.stdout.splitlines()[-1].endswith(f"gates failed, nothing changed (exit code 1): {reason}")


@pytest.mark.parametrize(
    ("allowance", "extra"),
    [
        pytest.param("", ALLOW_TABLE, id="allow_skip-table"),
        pytest.param(f"(allow_skip={WHY!r})", "", id="marker-allow_skip"),
    ],
)
def test_deploy_goes_ahead_when_the_skipped_blocking_gate_has_an_allowance(
    project: Project, allowance: str, extra: str
) -> None:
    gates_project(project, SKIPPING.format(allowance=allowance), extra)

    done = project.deploy()

    assert done.returncode == DeployExit.DEPLOYED, done.stdout + done.stderr
    assert project.shop.wait_for_version("2.0.0") == "2.0.0"
    record = project.only_record()
    assert record["outcome"] == "deployed and verified"
    assert step_names(record) == ["gates", "backup", "run", "verify"]
    gates = step(record, "gates")["gates"]
    assert (gates["passed"], gates["blocking"], gates["summary"]["skip"]) == (True, [], 1)
    assert gates["reason"] == "2 gates, none blocking"
    skipped = next(g for g in gate_report(project, record)["gates"] if g["nodeid"] == SKIPPED_GATE)  # type: ignore[attr-defined]
    assert (skipped["verdict"], skipped["blocking"], skipped["skip_allowed"]) == ("skip", False, WHY)


def test_deploy_refuses_saying_none_decided_when_every_gate_skipped_with_an_allowance(project: Project) -> None:
    gates_project(project, ALL_SKIPPED, f'[tool.prodgate.allow_skip]\n"gates/test_staging.py::*" = "{WHY}"\n')

    done = project.deploy()

    assert done.returncode == DeployExit.GATES_FAILED, done.stdout + done.stderr
    assert not (project.root / "deploy-started").exists()
    record = project.only_record()
    reason = "pre-deploy gates failed: none of the 2 gates decided (all skipped or errored)"
    assert (record["outcome"], record["reason"]) == ("gates failed, nothing changed", reason)
    gates = step(record, "gates")["gates"]
    assert (gates["blocking"], gates["summary"]["skip"]) == ([], 2)
    assert done.stdout.splitlines()[-1].endswith(f"(exit code 1): {reason}")
