"""The ``server_memory`` fixture under the performance marker, against real server processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.leaky_server import start_server, stop_server

pytest_plugins = ["pytester"]

# The inner run watches the process named by MEMORY_TEST_PID, as if it were the embedded demo.
CONFTEST = """
import os
import pytest
from pytest_prodgate.context import DemoInfo, Prodgate
from pytest_prodgate.plugin.stash import CONFIG as config_key

@pytest.fixture(scope="session")
def prodgate(request):
    url = os.environ.get("MEMORY_TEST_URL")
    demo = DemoInfo(url, int(os.environ["MEMORY_TEST_PID"]), "sqlite://") if url else None
    return Prodgate(config=request.config.stash[config_key], base_url=url or "http://127.0.0.1:9", demo=demo)

def pytest_prodgate_gate_judged(item, entry):
    memory = entry.details.get("memory")
    if memory:
        print(f"SERIES {len(memory['series'])} points, {memory['processes']} processes")
"""

GATE = """
import pytest

@pytest.mark.performance(thresholds=["growth_per_100 < 10MB"])
def test_server_memory_stays_flat(server_memory):
    server_memory("/", requests=100, warmup=5, samples=10)
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_memory=GATE)
    return pytester


def serve(tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    process, url = start_server(tmp_path, chunk=chunk)
    monkeypatch.setenv("MEMORY_TEST_URL", url)
    monkeypatch.setenv("MEMORY_TEST_PID", str(process.pid))
    try:
        yield
    finally:
        stop_server(process)


@pytest.fixture
def flat_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from serve(tmp_path, 0, monkeypatch)


@pytest.fixture
def leaking_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from serve(tmp_path, 256 * 1024, monkeypatch)


def test_memory_gate_passes_when_the_server_stays_flat(inner: pytest.Pytester, flat_server: None) -> None:
    result = inner.runpytest("-s", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*SERIES 11 points, 2 processes*",
            "performance  test_server_memory_stays_flat  PASS  growth_per_100 * < 10 MB",
        ]
    )


def test_memory_gate_fails_with_the_growth_when_a_child_process_leaks(
    inner: pytest.Pytester, leaking_server: None
) -> None:
    result = inner.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    # 256 KB per request, retained by the server's child process: 25 MB per 100 requests.
    result.stdout.re_match_lines(
        [
            r"growth_per_100 = 2[3-7](\.\d+)? MB, wanted < 10 MB",
            r"performance  test_server_memory_stays_flat  FAIL  growth_per_100 2\d(\.\d+)? MB, wanted < 10 MB",
        ]
    )


def test_memory_gate_errors_with_the_reason_when_the_process_is_gone(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait(timeout=10)
    monkeypatch.setenv("MEMORY_TEST_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("MEMORY_TEST_PID", str(finished.pid))
    result = inner.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"server memory: process {finished.pid} is not running",
            f"performance  test_server_memory_stays_flat  ERROR  server memory: process {finished.pid} is not running",
        ]
    )


def test_memory_gate_is_skipped_with_the_remedy_when_no_process_is_known(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEMORY_TEST_URL", raising=False)
    result = inner.runpytest("-rs", "-p", "no:randomly")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*server memory: no server process to watch; set [[]tool.prodgate.performance.memory[]] pid or pidfile*"]
    )
