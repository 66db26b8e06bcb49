"""The CI templates in ci/: valid for their CI (check-jsonschema's vendored schemas, offline), and their
pytest commands really run and write the reports the later steps read."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML  # comes with check-jsonschema

pytest_plugins = ["pytester"]


def load_yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "ci" / "github" / "prodgate.yml"
GITLAB = ROOT / "ci" / "gitlab" / "prodgate.gitlab-ci.yml"


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("schema", "path"), [("vendor.github-workflows", GITHUB), ("vendor.gitlab-ci", GITLAB)])
def test_template_is_valid_when_checked_against_its_ci_schema(schema: str, path: Path) -> None:
    done = check_jsonschema(schema, path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


@pytest.mark.parametrize(
    ("schema", "path", "old", "new"),
    [
        ("vendor.github-workflows", GITHUB, "runs-on: ubuntu-latest", "runs_on: ubuntu-latest"),
        ("vendor.gitlab-ci", GITLAB, "      when: always\n", "      when: sometimes\n"),
    ],
)
def test_validator_rejects_a_template_when_it_is_broken(
    tmp_path: Path, schema: str, path: Path, old: str, new: str
) -> None:
    broken = tmp_path / path.name
    broken.write_text(path.read_text().replace(old, new, 1))
    done = check_jsonschema(schema, broken)
    assert done.returncode == 1 and "Schema validation errors were encountered" in done.stdout


def pytest_commands(text: str) -> list[list[str]]:
    """The ``pytest ...`` command lines in a template (folded YAML scalars already joined)."""
    found: list[list[str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node.strip().startswith("pytest "):
            found.append(shlex.split(node.strip())[1:])

    walk(load_yaml(text))
    return found


def test_github_workflow_deploys_only_when_both_gate_runs_pass() -> None:
    workflow = load_yaml(GITHUB.read_text())
    gates, deploy = workflow["jobs"]["gates"], workflow["jobs"]["deploy"]
    steps = {step.get("id") or step.get("name"): step for step in gates["steps"]}
    assert (
        steps["Upload the reports"]["uses"].startswith("actions/upload-artifact@")
        and steps["Upload the reports"]["if"] == "always()"
    )
    assert "gh pr comment" in steps["Post the gate summary on the pull request"]["run"]
    assert "steps.readiness.outcome" in str(steps["verdict"]) and "steps.performance.outcome" in str(steps["verdict"])
    assert deploy["needs"] == "gates" and "needs.gates.outputs.passed == 'true'" in deploy["if"]
    assert "prodgate deploy" in deploy["steps"][-1]["run"]


def test_gitlab_template_deploys_only_after_both_gate_jobs() -> None:
    pipeline = load_yaml(GITLAB.read_text())
    deploy = pipeline["deploy-production"]
    assert [need["job"] for need in deploy["needs"]] == ["readiness-gates", "performance-gates"]
    assert all("when" not in rule for rule in deploy["rules"])  # on_success: a failed gate job stops it
    assert "prodgate deploy" in deploy["script"][-1]
    assert pipeline["readiness-gates"]["artifacts"]["when"] == "always"
    assert "merge_requests/$CI_MERGE_REQUEST_IID/notes" in pipeline["gate-summary"]["script"][-1]


GATES = """
import pytest

@pytest.mark.readiness(thresholds=["days_left > 14"])
def test_certificate(gate):
    gate.record("days_left", 40)

@pytest.mark.performance(thresholds=["p95 < 500ms"])
def test_catalogue_load(gate):
    gate.record("p95", 0.041)
"""


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_template_pytest_commands_write_every_report_when_run(pytester: pytest.Pytester, path: Path) -> None:
    commands = pytest_commands(path.read_text())
    assert [re.search(r"-m (\w+)", " ".join(c)).group(1) for c in commands] == ["readiness", "performance"]  # type: ignore[union-attr]
    pytester.mkpydir("gates").joinpath("test_gates.py").write_text(GATES)
    for args in commands:
        pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)
    written = sorted(p.name for p in (pytester.path / "reports").iterdir())
    assert written == [
        f"{family}.{ext}" for family in ("performance", "readiness") for ext in ("html", "json", "md", "xml")
    ]
