"""The server memory gate's core: real servers, real processes, real RSS."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from pytest_prodgate.demo import DemoService
from pytest_prodgate.errors import ConfigError, GateFailed, TargetError
from pytest_prodgate.gate import Gate
from pytest_prodgate.performance.memory import measure_memory, pid_from_settings, slope, tree_rss
from pytest_prodgate.thresholds import parse_thresholds
from tests.leaky_server import start_server, stop_server

CLEAN_ENV = {"PRODGATE_DEMO_FAULTS": ""}
MB = 1024**2


@pytest.fixture
def child_server(tmp_path: Path) -> Iterator[tuple[int, str]]:
    process, url = start_server(tmp_path, chunk=256 * 1024)
    try:
        yield process.pid, url
    finally:
        stop_server(process)


def memory_gate() -> Gate:
    return Gate(
        "test_server_memory_stays_flat", "performance", thresholds=tuple(parse_thresholds(["growth_per_100 < 10MB"]))
    )


def test_memory_gate_passes_when_the_demo_is_healthy() -> None:
    with DemoService.start(env=CLEAN_ENV) as demo:
        result = measure_memory(demo.pid, demo.base_url + "/products", requests=200, warmup=20)
    gate = memory_gate()
    gate.record_many(result.figures())
    assert [r.passed for r in gate.judge()] == [True]
    assert result.requests == 200 and result.errors == 0
    assert abs(result.growth_per_100) < 2 * MB
    assert result.samples[0][0] == 0 and result.samples[-1][0] == 200 and len(result.samples) == 21


def test_memory_gate_fails_with_the_measured_growth_when_the_demo_leaks() -> None:
    with DemoService.start(faults=["leak"], env=CLEAN_ENV) as demo:
        result = measure_memory(demo.pid, demo.base_url + "/products", requests=200, warmup=20)
    # The fault retains 200 KB per request: 19.5 MB per 100 requests.
    assert 17 * MB < result.growth_per_100 < 23 * MB
    assert 34 * MB < result.growth < 46 * MB
    gate = memory_gate()
    gate.record_many(result.figures())
    with pytest.raises(GateFailed) as failed:
        gate.check("growth_per_100 < 10MB")
    assert str(failed.value).startswith("growth_per_100 = 19")
    assert "MB, wanted < 10 MB" in str(failed.value).splitlines()[0]


def test_children_count_when_the_server_keeps_its_memory_in_a_child(child_server: tuple[int, str]) -> None:
    pid, url = child_server
    parent_before = psutil.Process(pid).memory_info().rss
    result = measure_memory(pid, url, requests=100, warmup=5, samples=10)
    parent_after = psutil.Process(pid).memory_info().rss
    # 256 KB per request retained by the child: 25 MB per 100 requests, none of it in the parent.
    assert result.processes == 2
    assert 22 * MB < result.growth_per_100 < 28 * MB
    assert parent_after - parent_before < 5 * MB
    rss, counted = tree_rss(pid)
    assert counted == 2 and rss >= psutil.Process(pid).memory_info().rss + 25 * MB


def test_target_error_names_the_pid_when_the_process_is_gone() -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait(timeout=10)
    with pytest.raises(TargetError, match=rf"^process {finished.pid} is not running$"):
        measure_memory(finished.pid, "http://127.0.0.1:9/", requests=10)


def test_target_error_gives_the_first_failure_when_no_request_gets_through() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(TargetError) as caught:
            measure_memory(psutil.Process().pid, f"http://127.0.0.1:{port}/", requests=10, warmup=2, timeout=1.0)
    assert str(caught.value).startswith(f"every request to http://127.0.0.1:{port}/ failed: ConnectError")


def test_measurement_stops_at_the_deadline_and_says_so_when_the_server_is_slow(tmp_path: Path) -> None:
    process, url = start_server(tmp_path, chunk=0, delay=0.2)
    try:
        with pytest.raises(TargetError) as caught:
            measure_memory(process.pid, url, requests=50, warmup=0, deadline=1.0)
    finally:
        stop_server(process)
    assert "requests to " + url + " measured (deadline of 1 s reached); at least 10 are needed" in str(caught.value)


def test_config_error_when_requests_are_too_few() -> None:
    with pytest.raises(ConfigError, match="requests must be at least 10, got 3"):
        measure_memory(psutil.Process().pid, "http://127.0.0.1:9/", requests=3)


def test_pid_comes_from_the_pidfile_when_one_is_configured(tmp_path: Path) -> None:
    pidfile = tmp_path / "app.pid"
    pidfile.write_text("4242\n")
    assert pid_from_settings({"pidfile": str(pidfile)}) == 4242
    assert pid_from_settings({"pid": 7, "pidfile": str(pidfile)}) == 7
    assert pid_from_settings({}) is None


def test_target_error_names_the_pidfile_when_it_is_missing_or_garbled(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"pidfile .*nope.pid: cannot read it \(No such file or directory\)"):
        pid_from_settings({"pidfile": str(tmp_path / "nope.pid")})
    garbled = tmp_path / "garbled.pid"
    garbled.write_text("not a pid")
    with pytest.raises(TargetError, match=r"expected a process id, found 'not a pid'"):
        pid_from_settings({"pidfile": str(garbled)})


def test_slope_is_the_least_squares_fit_when_samples_are_noisy() -> None:
    assert slope([(0, 100), (10, 200), (20, 300)]) == pytest.approx(10.0)
    assert slope([(0, 100), (10, 300), (20, 300)]) == pytest.approx(10.0)
    assert slope([(0, 100)]) == 0.0


def test_memory_core_imports_when_pytest_is_unavailable() -> None:
    code = "import sys; sys.modules['pytest'] = None\nimport pytest_prodgate.performance.memory"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
