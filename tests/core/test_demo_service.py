"""Starting and stopping the demo: the address line, free ports, clean shutdown, errors, the CLI."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from pytest_prodgate.demo import DemoService
from pytest_prodgate.demo.server import LISTENING
from pytest_prodgate.errors import TargetError
from tests.waiting import wait_for

CLEAN_ENV = {"PRODGATE_DEMO_FAULTS": ""}


def test_port_0_gives_distinct_free_ports_when_two_demos_start() -> None:
    with DemoService.start(env=CLEAN_ENV) as first, DemoService.start(env=CLEAN_ENV) as second:
        ports = {int(service.base_url.rsplit(":", 1)[1]) for service in (first, second)}
        assert len(ports) == 2 and 0 not in ports
        for service in (first, second):
            assert httpx.get(service.base_url + "/health", timeout=5.0).status_code == 200
            assert service.base_url.startswith("http://127.0.0.1:")


def test_stop_leaves_no_process_and_no_temp_database_when_the_demo_ends() -> None:
    service = DemoService.start(env=CLEAN_ENV)
    pid, db_path = service.pid, service.db_path
    assert db_path.exists() and psutil.pid_exists(pid)
    assert service.stop() == 0  # SIGTERM is a clean shutdown
    assert not service.running
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not db_path.exists()


def test_given_database_file_is_seeded_and_kept_when_db_is_passed(tmp_path: Path) -> None:
    db_path = tmp_path / "shop.db"
    with DemoService.start(db_path=db_path, env=CLEAN_ENV) as service:
        assert service.db_path == db_path.resolve()
        assert service.database_url == f"sqlite:///{db_path.resolve()}"
    assert db_path.exists()


def test_start_raises_target_error_with_the_reason_when_a_fault_is_unknown() -> None:
    with pytest.raises(TargetError) as caught:
        DemoService.start(faults=["slow", "bogus"], env=CLEAN_ENV)
    message = str(caught.value)
    assert "did not start (it exited with code 4)" in message
    assert (
        "unknown fault 'bogus'; known faults: slow, errors, not-ready, no-security-headers, bad-data, leak" in message
    )


def test_start_raises_target_error_when_the_env_names_an_unknown_fault() -> None:
    with pytest.raises(TargetError, match="PRODGATE_DEMO_FAULTS: unknown fault 'nope'"):
        DemoService.start(env={"PRODGATE_DEMO_FAULTS": "slow,nope"})


def test_start_raises_target_error_when_the_port_is_taken() -> None:
    with DemoService.start(env=CLEAN_ENV) as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        with pytest.raises(TargetError, match=f"cannot listen on 127.0.0.1:{port}"):
            DemoService.start(port=port, env=CLEAN_ENV, startup_timeout=10)


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **CLEAN_ENV}
    return subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_prodgate_demo_exits_4_with_one_line_when_a_fault_is_unknown() -> None:
    result = _run_cli("demo", "--fault", "slowly")
    assert result.returncode == 4
    assert result.stderr.strip().splitlines() == [
        (
            "prodgate demo: error: --fault: unknown fault 'slowly'; known faults: "
            "slow, errors, not-ready, no-security-headers, bad-data, leak"
        )
    ]
    assert result.stdout == ""


def test_prodgate_demo_lists_its_options_when_asked_for_help() -> None:
    result = _run_cli("demo", "--help")
    assert result.returncode == 0
    for option in ("--host", "--port", "--fault NAME", "--db PATH", "--state-file PATH"):
        assert option in result.stdout


def test_prodgate_demo_prints_one_address_line_and_exits_0_when_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with open(out, "w") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest_prodgate", "demo", "--port", "0", "--fault", "slow"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **CLEAN_ENV},
        )
    try:
        wait_for(lambda: "\n" in out.read_text() or process.poll() is not None, what="the demo's first line")
        match = LISTENING.match(out.read_text().rstrip("\n"))
        assert match is not None, out.read_text()
        assert int(match["pid"]) == process.pid
        assert httpx.get(match["url"] + "/health", timeout=5.0).json() == {"status": "ok"}
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 0, stderr
    assert out.read_text().count("\n") == 1
    assert not Path(match["path"]).exists()


def test_demo_stops_by_itself_when_its_parent_is_killed_with_exit_with_parent(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pytest_prodgate.demo import DemoService\n"
        "service = DemoService.start(exit_with_parent=True, env={'PRODGATE_DEMO_FAULTS': ''})\n"
        "print(service.pid, service.db_path, flush=True)\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pid_text, db_path = parent.stdout.readline().split()
        child = psutil.Process(int(pid_text))
        assert child.is_running()
    finally:
        parent.kill()
        parent.wait(5)
    child.wait(timeout=60)  # raises if it lingers
    assert not Path(db_path).exists()  # it shut down cleanly and removed its temp database


def test_catalogue_follows_the_database_when_another_connection_changes_it(tmp_path: Path) -> None:
    with DemoService.start(db_path=tmp_path / "shop.db", env=CLEAN_ENV) as service:
        url = service.base_url + "/products/1"
        assert httpx.get(url, timeout=5.0).json()["name"] != "Renamed"
        with sqlite3.connect(service.db_path) as conn:
            conn.execute("UPDATE products SET name = 'Renamed' WHERE id = 1")
        assert httpx.get(url, timeout=5.0).json()["name"] == "Renamed"
        assert httpx.get(service.base_url + "/search?q=renamed", timeout=5.0).json()["count"] == 1
