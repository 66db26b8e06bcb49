"""The CI templates in ci/: valid for their CI (check-jsonschema's vendored schemas, offline), and their
pytest commands really run and write the reports the later steps read."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

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
    comment = steps["Post the gate summary on the pull request"]["run"]
    assert "prodgate report comment reports/readiness.json reports/performance.json -o reports/comment.md" in comment
    assert 'gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$comment_id"' in comment
    assert 'gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments"' in comment
    baseline = steps["baseline"]
    assert baseline["if"] == "github.event_name == 'pull_request'" and "gh run download" in baseline["run"]
    assert steps["performance"]["env"]["PYTEST_ADDOPTS"] == "${{ steps.baseline.outputs.addopts }}"
    assert workflow["permissions"]["actions"] == "read"
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
    summary = pipeline["gate-summary"]["script"]
    assert summary[0] == "prodgate report comment reports/readiness.json reports/performance.json -o reports/comment.md"
    assert summary[-1] == "python ci/gitlab/post_note.py reports/comment.md"
    performance = " ".join(pipeline["performance-gates"]["script"])
    assert "python ci/gitlab/fetch_baseline.py baseline/performance.json" in performance
    assert 'PYTEST_ADDOPTS="--prodgate-baseline baseline/performance.json"' in performance


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


class FakeGitLab:
    """A real HTTP server on a free port that answers the two GitLab endpoints the scripts call."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = [{"id": 7, "body": "an unrelated note"}]
        self.calls: list[tuple[str, str, dict[str, list[str]], str | None]] = []
        self.baseline = b'{"schema": "pytest-prodgate/gate-report"}'

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _record(self) -> dict[str, list[str]]:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode()) if length else {}
                token = self.headers.get("PRIVATE-TOKEN") or self.headers.get("JOB-TOKEN")
                fake.calls.append((self.command, self.path, form, token))
                return form

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._record()
                if "/jobs/artifacts/main/raw/reports/performance.json" in self.path:
                    self._reply(200, fake.baseline)
                elif self.path.split("?")[0].endswith("/notes"):
                    self._reply(200, json.dumps(fake.notes).encode())
                else:
                    self._reply(404, b"{}")

            def do_POST(self) -> None:  # noqa: N802
                form = self._record()
                note = {"id": 100 + len(fake.notes), "body": form["body"][0]}
                fake.notes.append(note)
                self._reply(201, json.dumps(note).encode())

            def do_PUT(self) -> None:  # noqa: N802
                form = self._record()
                note_id = int(self.path.rsplit("/", 1)[1])
                for note in fake.notes:
                    if note["id"] == note_id:
                        note["body"] = form["body"][0]
                self._reply(200, b"{}")

        return Handler


@pytest.fixture
def gitlab() -> Iterator[tuple[FakeGitLab, dict[str, str]]]:
    fake = FakeGitLab()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {
        "PATH": os.environ["PATH"],
        "CI_API_V4_URL": f"http://127.0.0.1:{server.server_address[1]}/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "5",
        "CI_DEFAULT_BRANCH": "main",
        "CI_JOB_TOKEN": "job-token",
        "PRODGATE_GITLAB_TOKEN": "api-token",
    }
    try:
        yield fake, env
    finally:
        server.shutdown()
        server.server_close()


def run_script(name: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "ci" / "gitlab" / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_gitlab_note_is_posted_once_then_updated_when_the_pipeline_runs_again(
    gitlab: tuple[FakeGitLab, dict[str, str]], tmp_path: Path
) -> None:
    fake, env = gitlab
    body = tmp_path / "comment.md"
    body.write_text("<!-- pytest-prodgate gate summary -->\nfirst run\n")
    first = run_script("post_note.py", env, str(body))
    assert first.returncode == 0 and "note posted" in first.stdout, first.stderr
    body.write_text("<!-- pytest-prodgate gate summary -->\nsecond run\n")
    second = run_script("post_note.py", env, str(body))
    assert second.returncode == 0 and "note 101 updated" in second.stdout, second.stderr
    assert [n["body"] for n in fake.notes] == [
        "an unrelated note",
        "<!-- pytest-prodgate gate summary -->\nsecond run\n",
    ]
    assert [(c[0], c[1].split("?")[0]) for c in fake.calls] == [
        ("GET", "/api/v4/projects/42/merge_requests/5/notes"),
        ("POST", "/api/v4/projects/42/merge_requests/5/notes"),
        ("GET", "/api/v4/projects/42/merge_requests/5/notes"),
        ("PUT", "/api/v4/projects/42/merge_requests/5/notes/101"),
    ]
    assert {c[3] for c in fake.calls} == {"api-token"}


def test_gitlab_note_is_not_posted_when_the_token_is_missing(
    gitlab: tuple[FakeGitLab, dict[str, str]], tmp_path: Path
) -> None:
    fake, env = gitlab
    body = tmp_path / "comment.md"
    body.write_text("x")
    done = run_script("post_note.py", {k: v for k, v in env.items() if k != "PRODGATE_GITLAB_TOKEN"}, str(body))
    assert done.returncode == 4 and "PRODGATE_GITLAB_TOKEN not set" in done.stderr and fake.calls == []


def test_gitlab_baseline_is_downloaded_when_the_default_branch_has_one(
    gitlab: tuple[FakeGitLab, dict[str, str]], tmp_path: Path
) -> None:
    fake, env = gitlab
    out = tmp_path / "baseline" / "performance.json"
    done = run_script("fetch_baseline.py", env, str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == fake.baseline
    assert (
        fake.calls[0][1] == "/api/v4/projects/42/jobs/artifacts/main/raw/reports/performance.json?job=performance-gates"
    )
    assert fake.calls[0][3] == "job-token"
    env["CI_DEFAULT_BRANCH"] = "release"  # no such artifact: 404, so no baseline and exit 1
    missing = run_script("fetch_baseline.py", env, str(tmp_path / "none.json"))
    assert missing.returncode == 1 and "no baseline" in missing.stderr and not (tmp_path / "none.json").exists()
