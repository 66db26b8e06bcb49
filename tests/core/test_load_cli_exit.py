"""``prodgate load`` fails on any failed request, as Locust does, unless a threshold or ``--allow-errors`` says otherwise."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import MisbehavingServer


@pytest.fixture(scope="module")
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer().running() as running:
        yield running


def prodgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", "load", *args, "--users", "2", "--iterations", "20", "-q"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_exit_is_1_naming_the_failed_requests_when_no_threshold_is_given(
    server: MisbehavingServer, tmp_path: Path
) -> None:
    # Before: exit 0 at error_rate 100 % when no threshold was given.
    out = tmp_path / "r.json"
    done = prodgate(server.url + "/status/500", "--no-smoke", "--json", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "failed: 20 of 20 requests failed (5xx 20; error_rate = 100 %); any failed request fails prodgate load "
        "unless a threshold says how many may (-t 'error_rate < 1%') or --allow-errors is given"
    ) in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert json.loads(out.read_text())["passed"] is False


def test_exit_is_0_when_allow_errors_is_given(server: MisbehavingServer) -> None:
    done = prodgate(server.url + "/status/500", "--no-smoke", "--allow-errors")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error_rate     100 %" in done.stdout
    assert "failed:" not in done.stdout


def test_an_error_threshold_decides_when_given(server: MisbehavingServer) -> None:
    allowed = prodgate(server.url + "/status/500", "--no-smoke", "-t", "error_rate <= 100%")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert re.search(r"error_rate\s+100 %\s+<= 100 %\s+PASS", allowed.stdout), allowed.stdout
    refused = prodgate(server.url + "/status/500", "--no-smoke", "-t", "errors_5xx < 5")
    assert refused.returncode == 1
    assert re.search(r"errors_5xx\s+20\s+< 5\s+FAIL", refused.stdout), refused.stdout


def test_a_threshold_on_latency_alone_still_fails_on_errors(server: MisbehavingServer) -> None:
    done = prodgate(server.url + "/status/500", "--no-smoke", "-t", "p95 < 10s")
    assert done.returncode == 1
    assert "PASS" in done.stdout
    assert "20 of 20 requests failed" in done.stdout


def test_exit_is_0_with_throughput_per_second_when_nothing_failed(server: MisbehavingServer) -> None:
    done = prodgate(server.url + "/", "-t", "rps >= 1/s")
    assert done.returncode == 0, done.stdout + done.stderr
    rps_row = next(line for line in done.stdout.splitlines() if line.split()[:1] == ["rps"])
    assert rps_row.rstrip().endswith("/s")
    assert "failed:" not in done.stdout


def test_a_failed_smoke_request_is_one_paragraph_with_the_likely_fix_when_run_from_the_command_line(
    server: MisbehavingServer,
) -> None:
    done = prodgate(server.url + "/status/503")
    assert done.returncode == 1
    assert done.stderr.startswith(
        f"prodgate: the smoke request of scenario 'default' to {server.url}/status/503: GET /status/503 answered "
        "503 Service Unavailable, wanted a status below 400, so the load was not started. Likely fix: fix the target"
    ), done.stderr
    assert "smoke=False (prodgate load --no-smoke) skips the smoke requests." in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
