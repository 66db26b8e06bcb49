"""The serving check through pytest and the CLI: ``readiness.serving()``, ``checks = ["serving"]``, ``prodgate readiness``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.health_support import free_port
from tests.serving_servers import BIN, app_dir, running

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m http.server``: a development server."""
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with running(command, cwd=tmp_path_factory.mktemp("www"), port=port) as url:
        yield url


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    folder = app_dir(tmp_path_factory.mktemp("gunicorn"))
    command = [
        str(BIN / "gunicorn"),
        "-w",
        "2",
        "--max-requests",
        "1000",
        "--max-requests-jitter",
        "50",
        "-b",
        f"127.0.0.1:{port}",
        "wsgi_app:app",
    ]
    with running(command, cwd=folder, port=port) as url:
        yield url


GATE = """
import pytest

@pytest.mark.readiness
def test_served_by_a_production_server(readiness, gate):
    readiness.serving()
"""
PYPROJECT = """
[tool.prodgate.readiness.waivers]
"serving.root" = "the test container runs every process as root"
"""


def test_fixture_gate_fails_naming_http_server_and_passes_on_gunicorn_when_given_as_base_url(
    pytester: pytest.Pytester, http_server: str, gunicorn: str
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(test_serving=GATE)

    failing = pytester.runpytest("--base-url", http_server)
    passing = pytester.runpytest("--base-url", gunicorn)

    failing.assert_outcomes(failed=1)
    failing.stdout.fnmatch_lines(
        [
            "*[[]serving.development[]] served by a development server: Server: SimpleHTTP/0.6 Python/* is python -m "
            "http.server (a development server)*",
            "*readiness*test_served_by_a_production_server*FAIL*",
        ]
    )
    passing.assert_outcomes(passed=1)
    passing.stdout.fnmatch_lines(["*test_served_by_a_production_server*PASS*"])


def test_collected_serving_gate_runs_against_the_base_url_when_switched_on(
    pytester: pytest.Pytester, http_server: str
) -> None:
    pytester.makepyprojecttoml('[tool.prodgate.readiness]\nchecks = ["serving"]\n' + PYPROJECT)

    result = pytester.runpytest("--base-url", http_server)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*readiness::serving*FAIL*serving.development*"])


def test_cli_exits_1_naming_the_development_server_when_asked_for_the_serving_check(
    tmp_path: Path, http_server: str, gunicorn: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)

    def cli(url: str) -> subprocess.CompletedProcess[str]:
        command = [str(BIN / "prodgate"), "readiness", "--check", "serving", "--base-url", url]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    failing, passing = cli(http_server), cli(gunicorn)

    assert failing.returncode == 1, failing.stderr
    assert failing.stdout.splitlines()[0] == "readiness::serving FAIL"
    assert "[serving.development] served by a development server: Server: SimpleHTTP/0.6" in failing.stdout
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert passing.stdout.splitlines()[0] == "readiness::serving PASS  Server: gunicorn"
