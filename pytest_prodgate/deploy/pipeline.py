"""The deployment pipeline: gates -> backup -> run -> verify, and on failure rollback -> verify again.

Every step is a real subprocess in its own process group, bounded by its own timeout, its output
echoed and its tail kept (secrets masked). The pre-deploy gates and the verification run pytest with
``--prodgate-json`` and are decided on that report. SIGINT/SIGTERM stop the running step; what follows
(rollback or not) is the rollback policy's call. The record is written ahead: when a step starts
(what it is about to run, then its pid), and when it ends, so a killed deploy leaves a true trace.
"""

from __future__ import annotations

import getpass
import importlib.util
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import IO, Any

from pytest_prodgate.deploy.backup import folder_is_empty, make_backup_dir, prune_backups
from pytest_prodgate.deploy.config import DeploySettings, slug
from pytest_prodgate.deploy.exitcodes import DeployExit
from pytest_prodgate.deploy.gatereport import GateDecision, decide, read_gate_report
from pytest_prodgate.deploy.health import wait_until_healthy
from pytest_prodgate.deploy.lock import DeployLock, LockHeld, StaleLock, describe, owner_alive, read_lock
from pytest_prodgate.deploy.notify import notify, notify_email
from pytest_prodgate.deploy.plan import git_commit, render_plan
from pytest_prodgate.deploy.process import CommandResult, run_command
from pytest_prodgate.deploy.record import (
    dead_records,
    dead_run_lines,
    find_killed,
    is_killed,
    last_deployment,
    load_record,
    mark_killed,
    new_deployment_id,
    now_iso,
    write_record,
)
from pytest_prodgate.errors import ProdgateError
from pytest_prodgate.redact import Redactor, mask_url
from pytest_prodgate.signals import install_stop_handlers, restore_handlers
from pytest_prodgate.vcs import COMMIT_VARIABLE

__all__ = ["Deployment", "run_deployment"]


class _Stop(ProdgateError):
    """Ends the pipeline early with an exit code, an outcome and a reason (never leaves this module)."""

    def __init__(self, code: DeployExit, outcome: str, reason: str) -> None:
        self.code, self.outcome, self.reason = code, outcome, reason
        super().__init__(reason)


class Deployment:
    """One run of the pipeline; ``run()`` returns its exit code and leaves ``record`` filled in."""

    def __init__(
        self,
        settings: DeploySettings,
        *,
        out: IO[str] | None = None,
        redactor: Redactor | None = None,
        deployment_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.out = out or sys.stdout
        self.redactor = redactor or Redactor()
        self.id = deployment_id or new_deployment_id()
        self.signals: list[str] = []
        self.backup_dir: Path | None = None
        self.lock = DeployLock(settings.lock_dir / f"deploy-{slug(settings.target)}.lock", self.id, settings.target)
        self._current: dict[str, Any] | None = None  # the step in flight, already in the record
        owner = self.lock.owner_data()
        self.record: dict[str, Any] = {
            "id": self.id,
            "environment": settings.environment,
            "target": settings.target,
            "git_commit": git_commit(settings.root),
            "user": getpass.getuser(),
            "host": os.uname().nodename,
            "started": now_iso(),
            "finished": None,
            "owner": {key: owner[key] for key in ("pid", "host", "process_started")},
            "dry_run": settings.dry_run,
            "outcome": "running",
            "exit_code": None,
            "reason": None,
            "plan": render_plan(settings, self.lock.path, self.id, self.redactor),
            "steps": [],
            "signals": self.signals,
            "backup_dir": None,
            "notifications": [],
        }

    # -- output ------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(self.redactor.text(text), file=self.out, flush=True)

    def show_plan(self) -> None:
        where = f"environment {self.settings.environment or '(base)'}, target {self.settings.target}"
        self.say(f"prodgate deploy {self.id}{' (dry run)' if self.settings.dry_run else ''}: {where}")
        for number, line in enumerate(self.record["plan"], 1):
            self.say(f"  {number}. {line}" if number <= 5 else f"     {line}")

    # -- signals -----------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals.append(signal.Signals(signum).name)

    def _since(self, seen: int) -> Any:
        """A callback saying whether a signal arrived after the first ``seen`` ones."""
        return lambda: self.signals[-1] if len(self.signals) > seen else None

    # -- steps -------------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["PRODGATE_DEPLOYMENT_ID"] = self.id
        env["PRODGATE_TARGET"] = self.settings.target
        if self.settings.environment:
            env["PRODGATE_ENV"] = self.settings.environment
        if self.backup_dir is not None:
            env["PRODGATE_BACKUP_DIR"] = str(self.backup_dir)
        if self.record["git_commit"]:  # the gate reports of this deployment name the commit its record names
            env[COMMIT_VARIABLE] = self.record["git_commit"]
        env.update(extra)
        return env

    def _begin(self, name: str) -> None:
        """Record that step ``name`` starts (status ``running``) before anything of it runs."""
        if self._current is not None and self._current["name"] == name and self._current["status"] == "running":
            return
        self._current = {"name": name, "status": "running", "started": now_iso(), "commands": []}
        self.record["steps"].append(self._current)
        self.save()

    def _progress(self) -> Any:
        """A callback writing what a command is about to run, then its process group and pid, ahead."""
        entry: dict[str, Any] = {}

        def tell(known: dict[str, Any]) -> None:
            if not entry and self._current is not None:
                self._current["commands"].append(entry)
            entry.update(known, status="running")
            self.save()

        return tell

    def _command(self, command: str | list[str], step: str, **env: str) -> CommandResult:
        return run_command(
            command,
            cwd=self.settings.root,
            env=self.env(**env),
            timeout=self.settings.timeout(step),
            redactor=self.redactor,
            tail_lines=self.settings.tail_lines,
            echo=None if self.settings.quiet else self.out,
            interrupted=self._since(len(self.signals)),
            progress=self._progress(),
        )

    def _add_step(
        self, name: str, started: float, status: str, reason: str, results: list[CommandResult], **more: Any
    ) -> dict[str, Any]:
        tail = [line for r in results for line in r.tail][-self.settings.tail_lines :]
        failed = next((r for r in results if not r.ok), None)
        step = {
            "name": name,
            "status": status,
            "started": now_iso(started),
            "duration": round(time.time() - started, 3),
            "exit_code": (failed or results[-1]).exit_code if results else None,
            "reason": reason,
            "commands": [r.to_dict() for r in results],
            "output_tail": tail,
            **more,
        }
        current = self._current
        if current is not None and current["name"] == name and current["status"] == "running":
            current.clear()
            current.update(step)  # the step written ahead is now finished, in place
        else:
            self.record["steps"].append(step)
        self._current = None
        self.say(f"    {name} {status}: {reason} ({step['duration']:.1f}s)")
        self.save()
        return step

    def run_pytest(
        self, name: str, expression: str, report_path: Path, **more: Any
    ) -> tuple[GateDecision, dict[str, Any]]:
        """Run the gates selected by ``expression`` and decide on the JSON report."""
        started = time.time()
        self._begin(name)
        command = [sys.executable, "-m", "pytest", "-m", expression, "--prodgate-json", str(report_path)]
        command += ["-p", "no:cacheprovider", "-q", *self.settings.pytest_args]
        if self.settings.environment:
            command += ["--prodgate-env", self.settings.environment]
        if importlib.util.find_spec("pytest_benchmark") is not None:
            # pytest-benchmark creates its storage folder in every run: keep it beside the gate reports.
            command.append(f"--benchmark-storage=file://{report_path.parent / 'benchmarks'}")
        self.say(f"==> {name}: pytest -m {shlex.quote(expression)}")
        report_path.unlink(missing_ok=True)
        result = self._command(command, "verify" if name.startswith("verify") else "gates", PYTHONDONTWRITEBYTECODE="1")
        decision = decide(read_gate_report(report_path), result.exit_code, expression=expression)
        if not result.ok and (result.timed_out or result.interrupted or result.error):
            decision = GateDecision(
                False, result.why(), decision.summary, decision.blocking, decision.warnings, decision.from_report
            )
        status = "passed" if decision.passed else "failed"
        step = self._add_step(name, started, status, decision.reason, [result], gates=decision.to_dict(), **more)
        for line in decision.blocking:
            self.say(f"      blocking: {line}")
        for line in decision.warnings:
            self.say(f"      warning (non-blocking): {line}")
        return decision, step

    def report_path(self, name: str) -> Path:
        if self.settings.dry_run:
            return Path(self._scratch.name) / f"{name}.json"
        folder = self.settings.records_dir / self.id
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}.json"

    def gates(self) -> None:
        if not self.settings.gates:
            self._add_step("gates", time.time(), "skipped", "no gates expression", [])
            return
        decision, _ = self.run_pytest("gates", self.settings.gates, self.report_path("gates"))
        if self.signals:
            raise _Stop(
                DeployExit.INTERRUPTED, "interrupted, nothing changed", f"stopped by {self.signals[0]} during the gates"
            )
        if not decision.passed:
            raise _Stop(
                DeployExit.GATES_FAILED, "gates failed, nothing changed", f"pre-deploy gates failed: {decision.reason}"
            )

    def backup(self) -> None:
        s = self.settings
        if not s.backup and not s.sqlite_backup:
            self._add_step("backup", time.time(), "skipped", "no backup configured", [])
            return
        started = time.time()
        self._begin("backup")
        self.say("==> backup")
        self.backup_dir = make_backup_dir(s.backups_dir, self.id)
        self.record["backup_dir"] = str(self.backup_dir)
        commands: list[str | list[str]] = [
            *s.backup,
            *(
                [sys.executable, "-m", "pytest_prodgate.deploy.backup", "sqlite", p, str(self.backup_dir)]
                for p in s.sqlite_backup
            ),
        ]
        results = []
        for command in commands:
            results.append(self._command(command, "backup"))
            if not results[-1].ok:
                break
        failed = next((r for r in results if not r.ok), None)
        if failed is None and folder_is_empty(self.backup_dir):
            self._add_step(
                "backup", started, "failed", f"the backup folder {self.backup_dir} is empty after the backup", results
            )
            shutil.rmtree(self.backup_dir, ignore_errors=True)  # nothing in it worth keeping
            raise _Stop(DeployExit.BACKUP_FAILED, "backup failed, nothing deployed", "the backup wrote nothing")
        if failed is not None:
            self._add_step("backup", started, "failed", f"{failed.command}: {failed.why()}", results)
            if self.signals:
                raise _Stop(
                    DeployExit.INTERRUPTED,
                    "interrupted, nothing changed",
                    f"stopped by {self.signals[0]} during the backup",
                )
            raise _Stop(
                DeployExit.BACKUP_FAILED, "backup failed, nothing deployed", f"backup command failed: {failed.why()}"
            )
        files = sorted(p for p in self.backup_dir.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in files)
        pruned = prune_backups(s.backups_dir, s.keep, protect=self.id)
        self._add_step(
            "backup",
            started,
            "passed",
            f"{len(files)} file(s), {size} bytes in {self.backup_dir}",
            results,
            files=[str(p.relative_to(self.backup_dir)) for p in files],
            pruned=[p.name for p in pruned],
        )

    def deploy(self) -> CommandResult | None:
        if not self.settings.run:
            self._add_step("run", time.time(), "skipped", "no deploy command", [])
            return None
        started = time.time()
        self._begin("run")
        self.say(f"==> run: {self.settings.run}")
        result = self._command(self.settings.run, "run")
        self._add_step("run", started, "passed" if result.ok else "failed", result.why(), [result])
        return result

    def verify(self, name: str = "verify") -> tuple[bool, str]:
        s = self.settings
        started = time.time()
        health: dict[str, Any] = {}
        if s.health_url:
            self._begin(name)
            self.say(f"==> {name}: waiting until {mask_url(s.health_url)} is healthy")
            wait = wait_until_healthy(
                s.health_url,
                timeout=s.timeout("health"),
                interval=s.health_interval,
                interrupted=self._since(len(self.signals)),
            )
            reason = f"{'healthy' if wait.healthy else 'not healthy'} after {wait.attempts} request(s), last answer {wait.last}"
            if not wait.healthy:
                self._add_step(f"{name}", started, "failed", reason, [], health=wait.to_dict())
                return False, f"{mask_url(s.health_url)} {reason}"
            self.say(f"    {reason}")
            health = {"health": wait.to_dict()}
        if s.verify:
            decision, _ = self.run_pytest(name, s.verify, self.report_path(name), **health)
            return decision.passed, decision.reason
        if not s.health_url:
            self._add_step(name, started, "skipped", "no health URL and no verify expression", [])
        else:
            self._add_step(name, started, "passed", "healthy", [], **health)
        return True, "healthy"

    def rollback(self, why: str, code_if_restored: DeployExit, outcome: str, *, asked: bool = False) -> _Stop:
        """Run the rollback commands (when the policy allows, or a person ``asked``), then verify again."""
        s = self.settings
        if not s.rollback or (s.rollback_policy != "automatic" and not asked):
            policy = "rollback policy is manual" if s.rollback else "no rollback commands are configured"
            return _Stop(DeployExit.NOT_ROLLED_BACK, f"{outcome}, not rolled back", f"{why}; {policy}: needs a person")
        started = time.time()
        self._begin("rollback")
        self.say("==> rollback")
        results = []
        for command in s.rollback:
            results.append(self._command(command, "rollback"))
            if not results[-1].ok:
                break
        failed = next((r for r in results if not r.ok), None)
        if failed is not None:
            self._add_step("rollback", started, "failed", f"{failed.command}: {failed.why()}", results)
            return _Stop(
                DeployExit.ROLLBACK_FAILED, "rollback failed, needs a person", f"{why}; rollback failed: {failed.why()}"
            )
        self._add_step("rollback", started, "passed", "rollback commands succeeded", results)
        healthy, reason = self.verify("verify-after-rollback")
        if not healthy:
            return _Stop(
                DeployExit.ROLLBACK_FAILED,
                "rolled back but not healthy, needs a person",
                f"{why}; after the rollback: {reason}",
            )
        return _Stop(code_if_restored, f"{outcome}, rolled back", f"{why}; rolled back and healthy again")

    # -- the whole run -----------------------------------------------------------------------
    def save(self) -> None:
        if not self.settings.dry_run:
            write_record(self.settings.records_dir, self.redactor.data(self.record))

    def _interrupted_after_change(self, what: str) -> _Stop:
        why = f"stopped by {self.signals[0]} during {what}"
        if not self.settings.rollback_on_interrupt:
            return _Stop(
                DeployExit.NOT_ROLLED_BACK, "interrupted, not rolled back", f"{why}; rollback_on_interrupt is off"
            )
        return self.rollback(why, DeployExit.INTERRUPTED, "interrupted")

    def _pipeline(self) -> None:
        self.gates()
        if self.settings.dry_run:
            raise _Stop(DeployExit.DEPLOYED, "dry run: gates passed, nothing changed", "dry run")
        self.backup()
        if self.signals:
            raise _Stop(
                DeployExit.INTERRUPTED, "interrupted, nothing changed", f"stopped by {self.signals[0]} after the backup"
            )
        result = self.deploy()
        if self.signals:
            raise self._interrupted_after_change("the deploy")
        if result is not None and not result.ok:
            raise self.rollback(
                f"the deploy command failed ({result.why()})", DeployExit.DEPLOY_FAILED_ROLLED_BACK, "deploy failed"
            )
        healthy, reason = self.verify()
        if self.signals:
            raise self._interrupted_after_change("the verification")
        if not healthy:
            raise self.rollback(
                f"verification failed: {reason}", DeployExit.VERIFY_FAILED_ROLLED_BACK, "verification failed"
            )
        raise _Stop(DeployExit.DEPLOYED, "deployed and verified", reason)

    def run(self) -> DeployExit:
        self.show_plan()
        if self.settings.dry_run:
            return self._dry_run()
        refused = self._take_lock()
        if refused is not None:
            return refused
        previous = self._install_handlers()
        try:
            self.save()
            try:
                self._pipeline()
                stop = _Stop(DeployExit.INTERNAL_ERROR, "internal error", "the pipeline ended without an outcome")
            except _Stop as ended:
                stop = ended
            except Exception as exc:  # an unexpected failure must still leave a record
                stop = _Stop(DeployExit.INTERNAL_ERROR, "internal error", f"{type(exc).__name__}: {exc}")
            return self._finish(stop)
        finally:
            self._restore_handlers(previous)
            self.lock.release()

    def _take_lock(self, *, force: bool | None = None) -> DeployExit | None:
        """Take the target's lock; on refusal, record and say why (and what a dead run had started)."""
        force = self.settings.force if force is None else force
        try:
            self.lock.acquire(force=force, wait=self.settings.wait)
        except LockHeld as exc:
            stale = isinstance(exc, StaleLock)
            self.say(f"prodgate deploy: {exc}")
            for dead in dead_records(
                self.settings.records_dir, self.settings.target, exc.owner if stale else None, self.id
            ):
                for line in dead_run_lines(dead):
                    self.say(f"  {line}")
            return self._finish(
                _Stop(DeployExit.LOCK_HELD, "stale lock, refused" if stale else "lock held, refused", str(exc)),
                notify_people=False,
            )
        dead_runs = dead_records(self.settings.records_dir, self.settings.target, self.lock.took_over, self.id)
        if self.lock.took_over:
            self.record["lock_taken_over"] = self.lock.took_over
            self.say(f"prodgate deploy: took over the stale lock of {describe(self.lock.took_over)} (--force)")
        elif dead_runs and not force:  # killed, and its lock removed by hand: still needs a look
            self.lock.release()
            why = f"deployment {dead_runs[0].get('id')} of this target was killed; rerun with --force to go on"
            self.say(f"prodgate deploy: {why}")
            for line in dead_run_lines(dead_runs[0]):
                self.say(f"  {line}")
            return self._finish(_Stop(DeployExit.LOCK_HELD, "killed deployment, refused", why), notify_people=False)
        for dead in dead_runs:
            for line in dead_run_lines(dead):
                self.say(f"  {line}")
            mark_killed(self.settings.records_dir, dead, by=self.id)
            self.record.setdefault("marked_killed", []).append(dead.get("id"))
            self.say(f"prodgate deploy: marked deployment {dead.get('id')} killed in its record")
        return None

    # -- rollback of the last deployment, by hand ----------------------------------------------
    def rollback_last(self) -> DeployExit:
        """Run the configured rollback for the last killed or failed deployment, with its backup."""
        s = self.settings
        self.record.update(kind="rollback-last", plan=[])
        self.say(f"prodgate deploy {self.id} --rollback-last: target {s.target}")
        last = last_deployment(s.records_dir, s.target)
        refusal = self._why_not_roll_back(last)
        if refusal is not None:
            self.say(f"prodgate deploy --rollback-last: {refusal[1]}")
            return refusal[0]
        assert last is not None
        self.record["rolls_back"] = last["id"]
        owner = read_lock(self.lock.path)
        dead_ids = {r.get("id") for r in find_killed(s.records_dir, s.target)}
        if owner and owner_alive(owner) is False:
            dead_ids.add(owner.get("deployment"))
        # taking over the lock of the very deployment being rolled back is what --rollback-last is for
        refused = self._take_lock(force=s.force or dead_ids <= {last["id"]})
        if refused is not None:
            return refused
        previous = self._install_handlers()
        try:
            last = load_record(s.records_dir, last["id"])  # as marked by _take_lock
            names = [step.get("name") for step in last.get("steps", [])]
            if "run" not in names:
                stop = _Stop(
                    DeployExit.DEPLOYED,
                    "nothing to roll back",
                    f"deployment {last['id']} ({last.get('outcome')}) never started its deploy command",
                )
            else:
                self.backup_dir = Path(last["backup_dir"])
                self.record["backup_dir"] = str(self.backup_dir)
                self.save()
                why = f"rollback of deployment {last['id']} ({last.get('outcome')}) asked for"
                stop = self.rollback(why, DeployExit.DEPLOYED, "rolled back", asked=True)
                if stop.code == DeployExit.DEPLOYED:
                    stop = _Stop(
                        DeployExit.DEPLOYED,
                        "rolled back",
                        f"rolled back deployment {last['id']} from {self.backup_dir}; healthy again",
                    )
            write_record(s.records_dir, {**last, "rolled_back_by": self.id, "rollback_outcome": stop.outcome})
            return self._finish(stop)
        finally:
            self._restore_handlers(previous)
            self.lock.release()

    def _why_not_roll_back(self, last: dict[str, Any] | None) -> tuple[DeployExit, str] | None:
        s = self.settings
        if not s.rollback:
            return DeployExit.USAGE_ERROR, "no rollback commands are configured (rollback in [tool.prodgate.deploy])"
        if last is None:
            return DeployExit.USAGE_ERROR, f"no deployment of target {s.target} in {s.records_dir}"
        if last.get("rolled_back_by"):
            return DeployExit.DEPLOYED, f"deployment {last['id']} was already rolled back by {last['rolled_back_by']}"
        if not is_killed(last) and (last.get("exit_code") == 0 or str(last.get("outcome")).endswith("rolled back")):
            return (
                DeployExit.USAGE_ERROR,
                f"the last deployment {last['id']} ended '{last.get('outcome')}': nothing to roll back",
            )
        names = [step.get("name") for step in last.get("steps", [])]
        if "run" in names and not (last.get("backup_dir") and Path(last["backup_dir"]).is_dir()):
            return DeployExit.USAGE_ERROR, f"deployment {last['id']} has no backup folder to roll back from"
        return None

    def _dry_run(self) -> DeployExit:
        owner = read_lock(self.lock.path)
        if owner is not None:
            state = "stale" if owner_alive(owner) is False else "held"
            self.say(f"  note: the lock is {state}: {describe(owner)}")
        self._scratch = tempfile.TemporaryDirectory(prefix="prodgate-dry-run-")
        previous = self._install_handlers()
        try:
            try:
                self._pipeline()
                stop = _Stop(DeployExit.INTERNAL_ERROR, "internal error", "no outcome")
            except _Stop as ended:
                stop = ended
            code = stop.code
            self.say(
                f"prodgate deploy (dry run): {stop.outcome}; {'backup, run, verify and rollback were not run' if code == 0 else stop.reason}"
            )
            return code
        finally:
            self._restore_handlers(previous)
            self._scratch.cleanup()

    def _finish(self, stop: _Stop, *, notify_people: bool = True) -> DeployExit:
        self.record.update(outcome=stop.outcome, exit_code=int(stop.code), reason=stop.reason, finished=now_iso())
        self.save()
        self.say(f"prodgate deploy {self.id}: {stop.outcome} (exit code {int(stop.code)}): {stop.reason}")
        if notify_people and (self.settings.webhooks or self.settings.email):
            told = self.redactor.data(self.record)
            notes = notify(self.settings.webhooks, told, log=self.out)
            if self.settings.email is not None:
                notes.append(notify_email(self.settings.email, told, log=self.out))
            self.record["notifications"] = notes
            self.save()
        return stop.code

    def _install_handlers(self) -> dict[int, Any]:
        return install_stop_handlers(self._on_signal)

    def _restore_handlers(self, previous: dict[int, Any]) -> None:
        restore_handlers(previous)


def run_deployment(settings: DeploySettings, *, out: IO[str] | None = None) -> DeployExit:
    return Deployment(settings, out=out).run()
