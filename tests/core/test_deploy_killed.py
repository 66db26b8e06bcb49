"""``prodgate deploy`` killed with SIGKILL in each step: no orphan survives, the record tells what ran.

Each case starts a real deployment whose step blocks (after writing a marker file the test waits
for), SIGKILLs the deploy process, then checks: the step's processes (by the pids and the process
group the record names) are gone; history shows the deployment ``killed`` during that step; the next
deploy refuses without ``--force`` and, with it, says what the dead run had started and marks it
killed; ``--rollback-last`` puts the database and the shop's release back as they were.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from pytest_prodgate.deploy.exitcodes import DeployExit
from tests.deploy_project import (  # noqa: F401 (fixtures)
    FAILING_READINESS,
    ORDERS,
    PY,
    Project,
    gone,
    project,
    shop,
)
from tests.waiting import wait_for

DEADLINE = 60.0  # generous: a loaded CI machine is slow, and nothing here waits on a clock otherwise

BLOCK = '''
"""Write a marker (with the pid of a child of ours: a grandchild of the step), then wait forever-ish."""
import subprocess, sys, time
from pathlib import Path

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
Path(sys.argv[1] + ".tmp").write_text(str(child.pid))
Path(sys.argv[1] + ".tmp").replace(sys.argv[1])
deadline = time.monotonic() + 300
while time.monotonic() < deadline and not Path("never-created").exists():
    time.sleep(0.05)
'''

BLOCKING_GATE = """
import subprocess, sys, time
from pathlib import Path
import pytest

@pytest.mark.{marker}
def test_blocks_until_killed():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    Path("{name}.tmp").write_text(str(child.pid))
    Path("{name}.tmp").replace("{name}")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not Path("never-created").exists():
        time.sleep(0.05)
"""


def wait_until(condition: Any, what: str, timeout: float = DEADLINE) -> None:
    wait_for(condition, deadline=timeout, interval=0.05, what=what)


def block_in(project: Project, step: str) -> str:
    """Configure ``project`` so that ``step`` blocks; returns the marker file the step writes."""
    (project.root / "block.py").write_text(BLOCK)
    if step == "gates":
        (project.root / "gates" / "test_blocking.py").write_text(
            BLOCKING_GATE.format(marker="readiness", name="gates-started")
        )
    elif step == "backup":
        project.configure(backup=[f"{PY} block.py backup-started"])
    elif step == "run":  # the deploy command changes the database and the release, then hangs
        project.configure(run=f"{PY} deploy.py 2.0.0 && {PY} block.py run-started")
    elif step == "verify":
        (project.root / "gates" / "test_blocking.py").write_text(
            BLOCKING_GATE.format(marker="health", name="verify-started")
        )
    elif step == "rollback":
        project.configure(run=f"{PY} deploy.py 2.0.0 --fail", rollback=[f"{PY} block.py rollback-started"])
    return f"{step}-started"


def group_members(group: int) -> list[int]:
    """Live (non-zombie) processes in process group ``group``."""
    members = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(process.pid) == group and process.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (ProcessLookupError, PermissionError):
            continue
    return members


def on_disk(project: Project, deployment_id: str) -> dict[str, Any]:
    """The record as its file says, not as history shows it."""
    path = project.root / ".prodgate" / "deployments" / f"{deployment_id}.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("step", ["gates", "backup", "run", "verify", "rollback"])
def test_nothing_is_lost_when_the_deploy_is_killed_during_a_step(project: Project, step: str) -> None:
    marker = project.root / block_in(project, step)
    running = project.start_deploy("--quiet")

    def in_flight_pid_recorded() -> bool:
        # The deploy records the command's pid when its supervisor reports it (a poll of 50 ms); on a busy
        # machine the command can write its marker first. Kill once both are there (the process group is
        # recorded before the command starts, so an earlier kill still stops everything).
        records = project.records()
        commands = records[0]["steps"][-1].get("commands", []) if records and records[0]["steps"] else []
        return bool(commands) and isinstance(commands[-1].get("pid"), int)

    wait_until(
        lambda: (marker.exists() and in_flight_pid_recorded()) or running.poll() is not None,
        f"the {step} step's marker and its pid in the record",
    )
    assert running.poll() is None, running.communicate()[0]
    grandchild = int(marker.read_text())

    killed_at = time.monotonic()
    running.kill()  # SIGKILL: no handler runs, no finally, no record written on the way out
    running.communicate(timeout=DEADLINE)

    # the record was written ahead: it names the step in flight and what it ran, with pids
    record = project.only_record()
    in_flight = record["steps"][-1]
    assert (in_flight["name"], in_flight["status"]) == (step, "running"), record["steps"]
    assert record["outcome"] == "running" and record["finished"] is None
    assert record["owner"]["pid"] == running.pid
    command = in_flight["commands"][-1]
    assert command["status"] == "running" and isinstance(command["pid"], int), command
    assert "tok-3f9a7c1e5b" not in json.dumps(record)

    # no process of the killed deploy survives: not the command, not its child, not its group
    assert gone(command["pid"], DEADLINE) and gone(command["process_group"], DEADLINE)
    assert gone(grandchild, DEADLINE)
    wait_until(lambda: not group_members(command["process_group"]), "the step's process group to empty")
    # a figure for people (`pytest -s`), not an assertion: the deadline above is what a busy machine needs
    print(f"KILLED {step}: the step's processes were gone {time.monotonic() - killed_at:.2f} s after SIGKILL")

    # history shows it killed, never running, and names the step
    listed = project.history()
    assert listed.returncode == 0, listed.stderr
    assert record["id"] in listed.stdout and listed.stdout.splitlines()[1].endswith("killed")
    shown = project.history(record["id"])
    assert f"died during the {step} step without finishing" in shown.stdout
    assert json.loads(project.history("--json").stdout)[0]["outcome"] == "killed"

    # the next deploy refuses without --force and says what the dead run had started
    refused = project.deploy()
    assert refused.returncode == DeployExit.LOCK_HELD, refused.stdout
    assert "which is no longer running; rerun with --force to take it over" in refused.stdout
    assert (
        f"deployment {record['id']} was killed: the deploy process (pid {running.pid}) died during the {step} step"
        in refused.stdout
    )
    assert f"it had started: {command['command']} (pid {command['pid']}" in refused.stdout

    # with --force it takes over, says what the dead run had started and marks it killed (gates fail here)
    (project.root / "gates" / "test_blocking.py").unlink(missing_ok=True)
    (project.root / "gates" / "test_blocked.py").write_text(FAILING_READINESS)
    forced = project.deploy("--force")
    assert forced.returncode == DeployExit.GATES_FAILED, forced.stdout
    assert "took over the stale lock of pid" in forced.stdout
    assert f"it had started: {command['command']}" in forced.stdout
    assert f"marked deployment {record['id']} killed in its record" in forced.stdout
    marked = on_disk(project, record["id"])
    assert marked["outcome"] == "killed" and marked["steps"][-1]["status"] == "killed"

    # --rollback-last puts everything back as it was before the killed deployment
    (project.root / "gates" / "test_blocked.py").unlink()
    project.configure()
    rolled = project.deploy("--rollback-last")
    assert rolled.returncode == DeployExit.DEPLOYED, rolled.stdout
    assert project.orders() == ORDERS
    assert project.shop.wait_for_version("1.0.0") == "1.0.0"
    last = project.records()[-1]
    assert last["kind"] == "rollback-last" and last["rolls_back"] == record["id"]
    if step in ("gates", "backup"):
        assert last["outcome"] == "nothing to roll back", rolled.stdout
    else:
        assert last["outcome"] == "rolled back", rolled.stdout
        assert [s["name"] for s in last["steps"]] == ["rollback", "verify-after-rollback"]
        assert (project.root / "rollback-ran").read_text() == marked["backup_dir"]
    assert on_disk(project, record["id"])["rolled_back_by"] == last["id"]


def test_rollback_last_refuses_when_the_last_deployment_succeeded(project: Project) -> None:
    assert project.deploy().returncode == DeployExit.DEPLOYED

    refused = project.deploy("--rollback-last")

    assert refused.returncode == DeployExit.USAGE_ERROR, refused.stdout
    assert "ended 'deployed and verified': nothing to roll back" in refused.stdout


def test_deploy_leaves_no_stray_file_in_the_project_when_it_succeeds(project: Project) -> None:
    before = set(project.files())

    done = project.deploy()

    assert done.returncode == DeployExit.DEPLOYED, done.stdout
    added = {p for p in set(project.files()) - before if not p.startswith(".prodgate/")}
    assert added == {"deploy-started", "deploy-finished"}  # what the test project's deploy script writes
    assert not any(Path(p).parts[0] == ".benchmarks" for p in project.files())


def test_next_deploy_is_refused_when_a_killed_deployment_lost_its_lock_by_hand(project: Project) -> None:
    marker = project.root / block_in(project, "run")
    running = project.start_deploy("--quiet")
    wait_until(lambda: marker.exists() or running.poll() is not None, "the run step's marker")
    running.kill()
    running.communicate(timeout=DEADLINE)
    dead = project.only_record()
    for lock in (project.root / ".prodgate").glob("deploy-*.lock"):
        lock.unlink()  # someone "fixed" the stale lock by removing it

    refused = project.deploy()
    forced = project.deploy("--force", "--gates", "readiness", "--run", f"{PY} deploy.py 3.0.0")

    assert refused.returncode == DeployExit.LOCK_HELD, refused.stdout
    assert f"deployment {dead['id']} of this target was killed; rerun with --force to go on" in refused.stdout
    assert forced.returncode == DeployExit.DEPLOYED, forced.stdout
    assert f"marked deployment {dead['id']} killed in its record" in forced.stdout
    assert on_disk(project, dead["id"])["outcome"] == "killed"
    assert [r["outcome"] for r in project.records()] == [
        "killed",
        "killed deployment, refused",
        "deployed and verified",
    ]


def test_rollback_last_refuses_when_no_rollback_is_configured(project: Project) -> None:
    project.configure(rollback=[])

    refused = project.deploy("--rollback-last")

    assert refused.returncode == DeployExit.USAGE_ERROR, refused.stdout
    assert "no rollback commands are configured (rollback in [tool.prodgate.deploy])" in refused.stdout
    assert project.records() == []
