"""``prodgate deploy`` under pressure: SIGTERM mid-deploy, two deployments at once, a stale lock."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from pytest_prodgate.deploy.exitcodes import DeployExit
from tests.deploy_project import ORDERS, PY, Project, gone, project, shop, step, step_names  # noqa: F401 (fixtures)
from tests.waiting import wait_for


def wait_for_file(path: Path, process: subprocess.Popen[str], timeout: float = 60) -> None:
    def appeared() -> bool:
        assert process.poll() is None, process.communicate()[0]
        return path.exists()

    wait_for(appeared, deadline=timeout, interval=0.05, what=f"{path.name} appearing")


def lock_file(project: Project) -> Path:
    return project.root / ".prodgate" / f"deploy-127.0.0.1_{project.shop.base_url.rsplit(':', 1)[1]}.lock"


def test_sigterm_stops_the_deploy_and_rolls_back_when_it_arrives_mid_deploy(project: Project) -> None:
    project.configure(run=f"{PY} deploy.py 2.0.0 --wait-for never-created --child")
    running = project.start_deploy()
    wait_for_file(project.root / "deploy-child.pid", running)
    child = int((project.root / "deploy-child.pid").read_text())
    script = int((project.root / "deploy-started").read_text())

    running.send_signal(signal.SIGTERM)
    output, _ = running.communicate(timeout=120)

    assert running.returncode == DeployExit.INTERRUPTED == 2, output
    record = project.only_record()
    assert record["signals"] == ["SIGTERM"]
    assert record["outcome"] == "interrupted, rolled back"
    assert record["reason"] == "stopped by SIGTERM during the deploy; rolled back and healthy again"
    assert step_names(record) == ["gates", "backup", "run", "rollback", "verify-after-rollback"]
    run = step(record, "run")
    assert run["status"] == "failed" and run["reason"] == "stopped by SIGTERM"
    assert run["commands"][0]["interrupted"] == "SIGTERM"
    assert gone(script) and gone(child)  # the whole process group of the step is stopped
    assert project.shop.version() == "1.0.0" and project.shop.ready_status() == 200
    assert project.orders() == ORDERS
    project.assert_backup_restorable(record)
    assert not lock_file(project).exists()


def test_second_deployment_is_refused_when_the_first_holds_the_lock(project: Project) -> None:
    project.configure(run=f"{PY} deploy.py 2.0.0 --wait-for go")
    first = project.start_deploy()
    wait_for_file(project.root / "deploy-started", first)

    refused = project.deploy("--gates", "")
    (project.root / "go").write_text("")
    output, _ = first.communicate(timeout=120)

    assert refused.returncode == DeployExit.LOCK_HELD == 14, refused.stdout
    assert f"is locked by pid {first.pid} on {socket.gethostname()}" in refused.stdout
    assert first.returncode == DeployExit.DEPLOYED, output
    records = {r["outcome"]: r for r in project.records()}
    assert set(records) == {"lock held, refused", "deployed and verified"}
    assert records["lock held, refused"]["steps"] == []
    assert records["lock held, refused"]["exit_code"] == 14
    assert project.shop.wait_for_version("2.0.0") == "2.0.0"
    assert not lock_file(project).exists()


def test_second_deployment_waits_for_the_lock_when_given_wait(project: Project) -> None:
    project.configure(run=f"{PY} deploy.py 2.0.0 --wait-for go", gates="")
    first = project.start_deploy()
    wait_for_file(project.root / "deploy-started", first)
    second = project.start_deploy("--wait", "90", "--run", f"{PY} deploy.py 3.0.0")
    second_lines: list[str] = []

    def read_second() -> None:
        for line in second.stdout or ():
            second_lines.append(line)

    reader = threading.Thread(target=read_second, daemon=True)
    reader.start()
    # The plan is printed just before the lock is taken: once its last line is out, the second
    # deployment is at the lock (and the first cannot finish before "go" is written).
    wait_for(lambda: any(line.startswith("     record ") for line in second_lines), what="the second deployment's plan")
    assert second.poll() is None, "".join(second_lines)

    (project.root / "go").write_text("")
    first_output, _ = first.communicate(timeout=120)
    second.wait(120)
    reader.join(60)
    second_output = "".join(second_lines)

    assert first.returncode == 0, first_output
    assert second.returncode == 0, second_output
    first_record, second_record = project.records()
    # The second began while the first held the lock, and its steps only after the first had finished.
    assert second_record["started"] < first_record["finished"] <= second_record["steps"][0]["started"]
    assert project.shop.wait_for_version("3.0.0") == "3.0.0"


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(30)
    return process.pid


def test_stale_lock_is_reported_and_taken_over_only_with_force(project: Project) -> None:
    lock = lock_file(project)
    lock.parent.mkdir(parents=True)
    owner = {
        "pid": dead_pid(),
        "host": socket.gethostname(),
        "user": "ci",
        "deployment": "20200101T000000000Z-dead00",
        "started": "2020-01-01T00:00:00+00:00",
    }
    lock.write_text(json.dumps(owner))

    refused = project.deploy()
    deployed_while_refused = (project.root / "deploy-started").exists()
    forced = project.deploy("--force")

    assert refused.returncode == DeployExit.LOCK_HELD, refused.stdout
    assert f"stale lock {lock}: held by pid {owner['pid']} on {owner['host']}" in refused.stdout
    assert "which is no longer running; rerun with --force to take it over" in refused.stdout
    assert not deployed_while_refused
    assert forced.returncode == DeployExit.DEPLOYED, forced.stdout
    assert "took over the stale lock of pid" in forced.stdout
    refused_record, forced_record = project.records()
    assert refused_record["outcome"] == "stale lock, refused"
    assert forced_record["lock_taken_over"]["deployment"] == "20200101T000000000Z-dead00"
    assert not lock.exists()
    assert sorted(os.listdir(lock.parent)) == ["backups", "deployments"]


SLOW_READINESS = """
import time
from pathlib import Path
import pytest

@pytest.mark.readiness
def test_slow_readiness_check():
    Path("gates-started").write_text("")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not Path("never-created").exists():
        time.sleep(0.05)
"""


def test_sigint_during_the_gates_changes_nothing_when_it_arrives_before_the_deploy(project: Project) -> None:
    (project.root / "gates" / "test_slow.py").write_text(SLOW_READINESS)
    running = project.start_deploy()
    wait_for_file(project.root / "gates-started", running)

    running.send_signal(signal.SIGINT)
    output, _ = running.communicate(timeout=120)

    assert running.returncode == DeployExit.INTERRUPTED, output
    record = project.only_record()
    assert record["signals"] == ["SIGINT"]
    assert record["outcome"] == "interrupted, nothing changed"
    assert record["reason"] == "stopped by SIGINT during the gates"
    assert step_names(record) == ["gates"]
    assert step(record, "gates")["reason"] == "stopped by SIGINT"
    assert not (project.root / "deploy-started").exists()
    assert not (project.root / ".prodgate" / "backups").exists()
    assert project.orders() == ORDERS and project.shop.version() == "1.0.0"


def test_second_signal_stops_the_rollback_and_needs_a_person_when_it_arrives_mid_rollback(project: Project) -> None:
    project.configure(
        run=f"{PY} deploy.py 2.0.0 --wait-for never-created",
        rollback=[f'touch rollback-started && {PY} -c "import time; time.sleep(60)"'],
    )
    running = project.start_deploy()
    wait_for_file(project.root / "deploy-started", running)
    running.send_signal(signal.SIGTERM)
    wait_for_file(project.root / "rollback-started", running)

    running.send_signal(signal.SIGTERM)
    output, _ = running.communicate(timeout=120)

    assert running.returncode == DeployExit.ROLLBACK_FAILED == 13, output
    record = project.only_record()
    assert record["signals"] == ["SIGTERM", "SIGTERM"]
    assert record["outcome"] == "rollback failed, needs a person"
    assert record["reason"] == "stopped by SIGTERM during the deploy; rollback failed: stopped by SIGTERM"
    project.assert_backup_restorable(record)
