"""The record of a deployment: one JSON file per deployment, written ahead of every step.

Written to a temporary file in the same folder, fsynced, then ``os.replace``d over the record, so a
crash leaves either the previous complete version or the new one, never half a file. The record is
written when the deployment starts (outcome ``running``, with its owner: pid, host, process start
time), again when a step starts (status ``running``, each command line masked, then its process
group and pid), and when it ends. So the record read at any instant says what may have changed.

A record still ``running`` whose owner process is gone on this host was *killed* (SIGKILL, the OOM
killer, a power cut): ``seen_as`` shows it so, naming the last step started, and ``mark_killed``
writes that down for good once a later deployment takes over.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_prodgate.deploy.lock import owner_alive

__all__ = [
    "dead_records",
    "dead_run_lines",
    "find_killed",
    "format_history",
    "format_record",
    "is_killed",
    "last_deployment",
    "last_started",
    "list_records",
    "load_record",
    "mark_killed",
    "new_deployment_id",
    "seen_as",
    "write_record",
]


def now_iso(timestamp: float | None = None) -> str:
    moment = datetime.now(timezone.utc) if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_deployment_id() -> str:
    """Sortable by start time (to the millisecond), unique enough: ``20261123T130133042Z-3fa2c1``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z-" + secrets.token_hex(3)


def write_record(folder: Path, record: dict[str, Any]) -> Path:
    """Write ``record`` to ``folder/ID.json`` atomically (temp file, fsync, ``os.replace``, fsync folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{record['id']}.json"
    fd, temp = tempfile.mkstemp(prefix=f".{record['id']}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2, sort_keys=False, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def load_record(folder: Path, deployment_id: str) -> dict[str, Any]:
    """The record whose id is ``deployment_id`` (or starts with it, when that is unambiguous)."""
    exact = folder / f"{deployment_id}.json"
    candidates = [exact] if exact.is_file() else sorted(folder.glob(f"{deployment_id}*.json"))
    if not candidates:
        raise FileNotFoundError(f"no deployment record {deployment_id!r} in {folder}")
    if len(candidates) > 1:
        names = ", ".join(p.stem for p in candidates[:5])
        raise FileNotFoundError(f"{deployment_id!r} matches several deployments ({names}); give more of the id")
    data: dict[str, Any] = json.loads(candidates[0].read_text(encoding="utf-8"))
    return data


def list_records(folder: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The records in ``folder``, newest first (unreadable files are skipped)."""
    records = []
    for path in sorted(folder.glob("*.json"), reverse=True):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if limit is not None and len(records) >= limit:
            break
    return records


def is_killed(record: dict[str, Any]) -> bool:
    """Whether the deployment died without finishing: marked so, or still running with its owner gone."""
    if record.get("outcome") == "killed":
        return True
    owner = record.get("owner")
    return (
        record.get("outcome") == "running"
        and not record.get("finished")
        and isinstance(owner, dict)
        and owner_alive(owner) is False
    )


def last_started(record: dict[str, Any]) -> dict[str, Any] | None:
    """The step the deployment had started last (the one in flight when it died)."""
    steps = [s for s in record.get("steps", []) if isinstance(s, dict)]
    return steps[-1] if steps else None


def seen_as(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` as it stands: a killed deployment shows outcome ``killed`` and why, never ``running``."""
    if record.get("outcome") != "running" or not is_killed(record):
        return record
    seen = dict(record)
    step = last_started(record)
    where = f"during the {step.get('name')} step" if step else "before its first step"
    owner = record.get("owner") or {}
    seen["outcome"] = "killed"
    seen["reason"] = f"the deploy process (pid {owner.get('pid')}) died {where} without finishing"
    return seen


def dead_run_lines(record: dict[str, Any]) -> list[str]:
    """What a killed deployment had started, and what a person should check, one line each."""
    seen = seen_as(record)
    lines = [f"deployment {record.get('id')} was killed: {seen.get('reason')}"]
    step = last_started(record)
    for command in (step or {}).get("commands", []):
        lines.append(
            f"  it had started: {command.get('command')} "
            f"(pid {command.get('pid')}, process group {command.get('process_group')})"
        )
    names = [s.get("name") for s in record.get("steps", [])]
    if "run" in names:
        lines.append("  check: the deploy command may have been cut off half way; the target may be partly changed")
    else:
        lines.append("  check: the deploy command never started; the target should be unchanged")
    if record.get("backup_dir"):
        lines.append(f"  its backup: {record['backup_dir']}; `prodgate deploy --rollback-last` restores it")
    return lines


def mark_killed(folder: Path, record: dict[str, Any], *, by: str | None) -> dict[str, Any]:
    """Write down for good that ``record``'s deployment was killed (its in-flight step too)."""
    marked = seen_as(record)
    marked = {**marked, "outcome": "killed", "killed_detected": now_iso(), "killed_detected_by": by}
    step = last_started(marked)
    if step is not None and step.get("status") == "running":
        marked["steps"] = [*marked["steps"][:-1], {**step, "status": "killed"}]
    write_record(folder, marked)
    return marked


def find_killed(folder: Path, target: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Records of ``target`` among the newest ``limit`` whose deployment died and is not yet marked."""
    return [
        r
        for r in list_records(folder, limit)
        if r.get("target") == target and r.get("outcome") == "running" and is_killed(r)
    ]


def dead_records(
    folder: Path, target: str, owner: dict[str, Any] | None, own_id: str | None = None
) -> list[dict[str, Any]]:
    """The records of ``target``'s deployments that died: the stale lock ``owner``'s, and any left unmarked."""
    dead = []
    if owner and owner.get("deployment"):
        try:
            dead.append(load_record(folder, str(owner["deployment"])))
        except (OSError, ValueError):
            pass  # a lock without its record (removed, or another records folder): nothing to tell
    seen = {r.get("id") for r in dead}
    dead += [r for r in find_killed(folder, target) if r.get("id") not in seen]
    return [r for r in dead if r.get("id") != own_id]


def last_deployment(folder: Path, target: str) -> dict[str, Any] | None:
    """The newest deployment of ``target`` that started its deploy command, else the newest killed one.

    Dry runs, refusals and rollbacks are not deployments; one stopped before its deploy command
    changed nothing, so an older one that did change something is the one to roll back.
    """
    ran = [
        record
        for record in list_records(folder, 50)
        if record.get("target") == target
        and record.get("kind", "deploy") == "deploy"
        and not record.get("dry_run")
        and record.get("steps")
    ]
    changed = [r for r in ran if any(step.get("name") == "run" for step in r["steps"])]
    killed = [r for r in ran if is_killed(r)]
    pick = changed or killed or ran
    return pick[0] if pick else None


def format_history(records: list[dict[str, Any]]) -> list[str]:
    rows = [("ID", "STARTED", "ENV", "TARGET", "COMMIT", "EXIT", "OUTCOME")]
    for r in map(seen_as, records):
        rows.append(
            (
                str(r.get("id", "?")),
                str(r.get("started", ""))[:19],
                str(r.get("environment") or "-"),
                str(r.get("target", "")),
                str(r.get("git_commit") or "-")[:10],
                str(r.get("exit_code", "")),
                str(r.get("outcome", "")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def format_record(record: dict[str, Any]) -> list[str]:
    record = seen_as(record)
    lines = [
        f"deployment {record.get('id')}: {record.get('outcome')} (exit code {record.get('exit_code')})",
        f"  environment {record.get('environment') or '-'}, target {record.get('target')}, "
        f"commit {record.get('git_commit') or '-'}, user {record.get('user')}",
        f"  started {record.get('started')}, finished {record.get('finished') or '-'}",
    ]
    if record.get("reason"):
        lines.append(f"  why: {record['reason']}")
    for step in record.get("steps", []):
        code = step.get("exit_code")
        lines.append(
            f"  - {step.get('name')}: {step.get('status')} ({step.get('duration', 0):.1f}s, exit code {code})"
            + (f": {step['reason']}" if step.get("reason") else "")
        )
        for command in step.get("commands", []) if step.get("status") in ("running", "killed") else []:
            lines.append(f"      started: {command.get('command')} (pid {command.get('pid')})")
        for line in step.get("output_tail", [])[-10:]:
            lines.append(f"      | {line}")
    for note in record.get("notifications", []):
        lines.append(f"  notified {note.get('url')}: {note.get('result')}")
    return lines
