"""The record of a deployment: one JSON file per deployment, rewritten atomically after every step.

Written to a temporary file in the same folder, fsynced, then ``os.replace``d over the record, so a
crash leaves either the previous complete version or the new one, never half a file. The record is
written when the deployment starts (outcome ``running``), so even a killed deployment leaves a trace.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["format_history", "format_record", "list_records", "load_record", "new_deployment_id", "write_record"]


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


def format_history(records: list[dict[str, Any]]) -> list[str]:
    rows = [("ID", "STARTED", "ENV", "TARGET", "COMMIT", "EXIT", "OUTCOME")]
    for r in records:
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
        for line in step.get("output_tail", [])[-10:]:
            lines.append(f"      | {line}")
    for note in record.get("notifications", []):
        lines.append(f"  notified {note.get('url')}: {note.get('result')}")
    return lines
