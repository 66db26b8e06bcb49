"""``prodgate deploy`` end to end: real subprocesses for every step against a running shop."""

from __future__ import annotations

import getpass
import json
import subprocess

from pytest_prodgate.deploy.exitcodes import DeployExit
from tests.deploy_project import (  # noqa: F401 (fixtures)
    FAILING_READINESS,
    ORDERS,
    PY,
    SECRET,
    WARNING_READINESS,
    Project,
    project,
    shop,
    step,
    step_names,
)


def test_deploy_switches_release_when_gates_and_verification_pass(project: Project) -> None:
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "release 2.0.0"]):
        subprocess.run([*git, *command], cwd=project.root, check=True, capture_output=True, timeout=60)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project.root, check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()

    done = project.deploy()

    assert done.returncode == DeployExit.DEPLOYED, done.stdout + done.stderr
    assert project.shop.wait_for_version("2.0.0") == "2.0.0"
    record = project.only_record()
    assert record["outcome"] == "deployed and verified"
    assert record["exit_code"] == 0
    assert (record["git_commit"], record["user"], record["environment"]) == (commit, getpass.getuser(), None)
    assert step_names(record) == ["gates", "backup", "run", "verify"]
    assert all(s["status"] == "passed" for s in record["steps"])
    assert step(record, "gates")["gates"]["summary"]["total"] == 1
    assert step(record, "gates")["gates"]["decided_by"] == "gate report"
    kept = json.loads((project.root / ".prodgate" / "deployments" / record["id"] / "gates.json").read_text())
    assert kept["schema"] == "pytest-prodgate/gate-report" and kept["summary"]["blocking_failures"] == 0
    assert kept["run"]["git_commit"] == commit  # the gate report names the commit the record names
    assert project.orders() == 5  # the migration ran...
    project.assert_backup_restorable(record)  # ...and the backup has every order
    assert SECRET not in done.stdout and SECRET not in json_text(project)
    assert "with token ********" in "\n".join(step(record, "run")["output_tail"])


def json_text(project: Project) -> str:
    return "".join(p.read_text() for p in (project.root / ".prodgate").rglob("*.json"))


def test_deploy_does_not_run_when_a_readiness_gate_fails(project: Project) -> None:
    (project.root / "gates" / "test_blocked.py").write_text(FAILING_READINESS)

    done = project.deploy()

    assert done.returncode == DeployExit.GATES_FAILED == 1, done.stdout + done.stderr
    assert not (project.root / "deploy-started").exists()  # the deploy command never ran
    assert project.shop.version() == "1.0.0"
    assert project.orders() == ORDERS
    record = project.only_record()
    assert record["outcome"] == "gates failed, nothing changed"
    assert record["reason"] == "pre-deploy gates failed: 1 blocking gate did not pass (1 failed)"
    assert step_names(record) == ["gates"]
    gates = step(record, "gates")["gates"]
    assert gates["summary"]["blocking_failures"] == 1
    assert gates["blocking"] == [
        "gates/test_blocked.py::test_release_notes_are_approved: AssertionError: release notes for 2.0.0 are not approved"
    ]
    assert not (project.root / ".prodgate" / "backups").exists()
    assert "blocking: gates/test_blocked.py::test_release_notes_are_approved" in done.stdout


def test_deploy_goes_ahead_when_only_a_warning_gate_fails(project: Project) -> None:
    (project.root / "gates" / "test_changelog.py").write_text(WARNING_READINESS)

    done = project.deploy()

    assert done.returncode == DeployExit.DEPLOYED, done.stdout + done.stderr
    gates = step(project.only_record(), "gates")["gates"]
    assert gates["summary"]["warning"] == 1 and gates["summary"]["blocking_failures"] == 0
    assert gates["reason"] == "2 gates, none blocking (1 warning, non-blocking)"
    assert "warning (non-blocking): gates/test_changelog.py::test_changelog_mentions_the_release" in done.stdout


def test_deploy_rolls_back_when_the_deploy_command_fails(project: Project) -> None:
    project.configure(run=f"{PY} deploy.py 2.0.0 --fault not-ready --fail")

    done = project.deploy()

    assert done.returncode == DeployExit.DEPLOY_FAILED_ROLLED_BACK == 11, done.stdout + done.stderr
    record = project.only_record()
    assert record["outcome"] == "deploy failed, rolled back"
    assert record["reason"] == "the deploy command failed (exit code 3); rolled back and healthy again"
    assert step_names(record) == ["gates", "backup", "run", "rollback", "verify-after-rollback"]
    assert step(record, "run")["exit_code"] == 3
    assert "deploy failed: the new release did not start" in step(record, "run")["output_tail"]
    assert project.shop.wait_for_version("1.0.0") == "1.0.0"
    assert project.shop.ready_status() == 200
    assert project.orders() == ORDERS  # restored from the backup
    project.assert_backup_restorable(record)


def test_deploy_rolls_back_when_health_fails_after_the_deploy(project: Project) -> None:
    project.configure(run=f"{PY} deploy.py 2.0.0 --fault not-ready")

    done = project.deploy()

    assert done.returncode == DeployExit.VERIFY_FAILED_ROLLED_BACK == 12, done.stdout + done.stderr
    record = project.only_record()
    assert record["outcome"] == "verification failed, rolled back"
    assert "rolled back and healthy again" in record["reason"]
    assert step_names(record) == ["gates", "backup", "run", "verify", "rollback", "verify-after-rollback"]
    verify = step(record, "verify")
    assert verify["status"] == "failed"
    # The demo picks up its state file within 0.2 s: either the health wait already sees the 503,
    # or it still saw the old release answer and the health gate run right after catches it.
    if verify["health"]["healthy"]:
        assert verify["gates"]["blocking"] == [
            "gates/test_release_gates.py::test_shop_is_ready: AssertionError: /health/ready answered 503"
        ]
    else:
        assert verify["health"]["last"] == "503"
    assert step(record, "verify-after-rollback")["status"] == "passed"
    assert (project.root / "rollback-ran").read_text() == record["backup_dir"]
    assert project.shop.wait_for_version("1.0.0") == "1.0.0"
    assert project.shop.ready_status() == 200
    assert project.orders() == ORDERS
    project.assert_backup_restorable(record)
    assert "verification failed, rolled back (exit code 12)" in done.stdout


def test_deploy_needs_a_person_when_the_rollback_fails(project: Project) -> None:
    project.configure(run=f"{PY} deploy.py 2.0.0 --fault not-ready", rollback=[f"{PY} rollback.py --fail"])

    done = project.deploy()

    assert done.returncode == DeployExit.ROLLBACK_FAILED == 13, done.stdout + done.stderr
    record = project.only_record()
    assert record["outcome"] == "rollback failed, needs a person"
    assert record["reason"].endswith("rollback failed: exit code 5")
    assert step(record, "rollback")["exit_code"] == 5
    assert "rollback failed: previous release is gone" in step(record, "rollback")["output_tail"]
    assert project.shop.ready_status() == 503  # still broken: that is why a person is needed
    project.assert_backup_restorable(record)  # and the data to repair it is there


def test_deploy_is_not_rolled_back_when_the_policy_is_manual(project: Project) -> None:
    project.configure(run=f"{PY} deploy.py 2.0.0 --fault not-ready", rollback_policy="manual")

    done = project.deploy()

    assert done.returncode == DeployExit.NOT_ROLLED_BACK == 15, done.stdout + done.stderr
    record = project.only_record()
    assert record["outcome"] == "verification failed, not rolled back"
    assert "rollback policy is manual: needs a person" in record["reason"]
    assert not (project.root / "rollback-ran").exists()


def test_deploy_fails_without_deploying_when_the_backup_writes_nothing(project: Project) -> None:
    project.configure(backup=["true"], sqlite_backup=[])

    done = project.deploy()

    assert done.returncode == DeployExit.BACKUP_FAILED == 10, done.stdout + done.stderr
    record = project.only_record()
    assert record["outcome"] == "backup failed, nothing deployed"
    assert step(record, "backup")["reason"].startswith("the backup folder ")
    assert step(record, "backup")["reason"].endswith(" is empty after the backup")
    assert step_names(record) == ["gates", "backup"]
    assert not (project.root / "deploy-started").exists()
    assert project.orders() == ORDERS


def test_deploy_fails_without_deploying_when_a_backup_command_fails(project: Project) -> None:
    project.configure(backup=['echo partial > "$PRODGATE_BACKUP_DIR/dump.sql"; exit 2'])

    done = project.deploy()

    assert done.returncode == DeployExit.BACKUP_FAILED, done.stdout + done.stderr
    record = project.only_record()
    assert record["reason"] == "backup command failed: exit code 2"
    assert not (project.root / "deploy-started").exists()


def test_backup_commands_see_their_folder_and_old_backups_are_pruned_when_keep_is_reached(project: Project) -> None:
    project.configure(backup=['cp app.db "$PRODGATE_BACKUP_DIR/copy.db"'], keep=2, run="true", gates="", verify="")

    codes = [project.deploy("-q").returncode for _ in range(3)]

    assert codes == [0, 0, 0]
    records = project.records()
    kept = sorted(p.name for p in (project.root / ".prodgate" / "backups").iterdir())
    assert kept == sorted(r["id"] for r in records[-2:])
    assert sorted(step(records[-1], "backup")["files"]) == ["app.db", "copy.db"]
    assert step(records[-1], "backup")["pruned"] == [records[0]["id"]]


def test_history_lists_deployments_and_shows_one_when_given_its_id(project: Project) -> None:
    (project.root / "gates" / "test_blocked.py").write_text(FAILING_READINESS)
    project.deploy()
    (project.root / "gates" / "test_blocked.py").unlink()
    project.deploy()
    first, second = project.records()

    listing = project.history()
    shown = project.history(second["id"][:-2])

    assert listing.returncode == 0 and shown.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["ID", "STARTED", "ENV", "TARGET", "COMMIT", "EXIT", "OUTCOME"]
    assert lines[1].startswith(second["id"]) and lines[1].split()[-4:] == ["0", "deployed", "and", "verified"]
    assert lines[2].startswith(first["id"]) and lines[2].split()[-5:] == ["1", "gates", "failed,", "nothing", "changed"]
    assert shown.stdout.splitlines()[0] == f"deployment {second['id']}: deployed and verified (exit code 0)"
    assert "  - run: passed" in shown.stdout
    missing = project.history("19990101")
    assert missing.returncode == 4 and "no deployment record '19990101'" in missing.stderr


def test_environment_table_overrides_the_deploy_section_when_env_is_given(project: Project) -> None:
    project.configure(
        extra='[tool.prodgate.environments.staging.deploy]\nrun = "echo deploying $PRODGATE_DEPLOYMENT_ID to $PRODGATE_ENV"\n',
        verify="",
    )

    done = project.deploy("--env", "staging")

    assert done.returncode == DeployExit.DEPLOYED, done.stdout + done.stderr
    record = project.only_record()
    assert record["environment"] == "staging"
    assert step(record, "run")["output_tail"] == [f"deploying {record['id']} to staging"]
    assert "--prodgate-env staging" in step(record, "gates")["commands"][0]["command"]
    assert project.shop.version() == "1.0.0"  # the staging deploy command ran instead of deploy.py
