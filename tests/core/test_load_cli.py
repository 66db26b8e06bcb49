"""``prodgate load``: the table, exit codes and the JSON file, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import MisbehavingServer, free_port


@pytest.fixture(scope="module")
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer().running() as running:
        yield running


def prodgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", "load", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_exit_is_0_and_json_holds_figures_when_thresholds_pass(server: MisbehavingServer, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    done = prodgate(
        server.url + "/",
        "--users",
        "4",
        "--iterations",
        "500",
        "-t",
        "p95 < 2s",
        "-t",
        "error_rate < 1%",
        "--json",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "requests" in done.stdout and "500" in done.stdout
    assert "p95" in done.stdout and "PASS" in done.stdout
    data = json.loads(out.read_text())
    assert data["figures"]["requests"] == 500
    assert 0 < data["figures"]["p95"] < 2  # seconds
    assert data["figures"]["error_rate"] == 0.0
    assert data["passed"] is True
    assert [t["verdict"] for t in data["thresholds"]] == ["pass", "pass"]


def test_exit_is_1_with_the_table_when_a_threshold_fails(server: MisbehavingServer, tmp_path: Path) -> None:
    done = prodgate(
        server.url + "/status/500", "--users", "2", "--iterations", "50", "--no-smoke", "-t", "error_rate < 1%"
    )
    assert done.returncode == 1
    assert "error_rate = 100 %, wanted < 1 %" in done.stdout
    assert "FAIL" in done.stdout


def test_exit_is_1_with_the_reason_when_the_target_is_dead() -> None:
    done = prodgate(f"http://127.0.0.1:{free_port()}/", "--duration", "30s")
    assert done.returncode == 1
    assert "connection refused" in done.stdout


def test_exit_is_4_when_the_usage_is_wrong(server: MisbehavingServer) -> None:
    both = prodgate(server.url, "--users", "2", "--rate", "5")
    assert both.returncode == 4 and "either --users" in both.stderr
    bad = prodgate(server.url, "--duration", "soon")
    assert bad.returncode == 4 and "'soon' is not a duration" in bad.stderr
    threshold = prodgate(server.url, "-t", "p95 < fast")
    assert threshold.returncode == 4 and "'fast'" in threshold.stderr


def test_the_open_model_runs_when_a_rate_is_given(server: MisbehavingServer, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    done = prodgate(server.url + "/", "--rate", "100", "--duration", "1s", "--json", str(out), "-q")
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["model"] == "open" and data["figures"]["requests"] == 100


def test_scenario_files_run_when_given(server: MisbehavingServer, tmp_path: Path) -> None:
    flows = tmp_path / "shop.py"
    flows.write_text(
        "from pytest_prodgate.performance import Template\n"
        "async def browse(user):\n"
        "    await user.get('/cookie')\n"
        "    r = await user.get('/whoami')\n"
        "    user.check(r.json()['cookie'] == 'session=abc', 'cookie')\n"
        "scenarios = [Template('/', name='home'), browse]\n"
    )
    templates = tmp_path / "more.json"
    templates.write_text(json.dumps([{"path": "/status/404", "expect": 404, "name": "gone"}]))
    out = tmp_path / "r.json"
    done = prodgate(server.url, "-s", str(flows), "-s", str(templates), "-n", "300", "-w", "2", "--json", str(out))
    assert done.returncode == 0, done.stderr + done.stdout
    data = json.loads(out.read_text())
    assert set(data["scenarios"]) == {"home", "browse", "gone"}
    assert data["figures"]["errors"] == 0
    assert data["workers"] == 2
    assert (
        data["figures"]["home.requests"] + data["figures"]["gone.requests"] + data["figures"]["browse.requests"] > 300
    )
