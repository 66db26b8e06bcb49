"""One deployment per target at a time: a lock file created atomically (``O_CREAT | O_EXCL``).

The file holds the owner (pid, host, user, process start time), the deployment id and the start time.
A lock whose owner process is gone (same host, pid dead or reused) is *stale*: it is reported and taken
over only with ``force``. A lock held by a live process is *held*: the caller gets ``LockHeld`` or waits,
bounded, for it to go away.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from pytest_prodgate.errors import LockHeld, StaleLock

__all__ = ["DeployLock", "LockHeld", "StaleLock", "read_lock"]


def read_lock(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # being written, or garbage: treated as held by an unknown owner
    return data if isinstance(data, dict) else {}


def _process_started(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def owner_alive(owner: dict[str, Any]) -> bool | None:
    """True/False for an owner on this host; None when it cannot be told (another host, unreadable file)."""
    if owner.get("host") != socket.gethostname() or not isinstance(owner.get("pid"), int):
        return None
    started = _process_started(owner["pid"])
    if started is None:
        return False
    recorded = owner.get("process_started")
    # A different start time means the pid was reused by an unrelated process.
    return not (isinstance(recorded, (int, float)) and abs(recorded - started) > 1.0)


def describe(owner: dict[str, Any]) -> str:
    if not owner:
        return "an unknown owner (unreadable lock file)"
    return (
        f"pid {owner.get('pid')} on {owner.get('host')} (user {owner.get('user')}, "
        f"deployment {owner.get('deployment')}, since {owner.get('started')})"
    )


@dataclass
class DeployLock:
    """The lock of one target; ``acquire`` then ``release`` (or use it as a context manager)."""

    path: Path
    deployment: str
    target: str
    acquired: bool = False
    took_over: dict[str, Any] | None = None  # the stale owner replaced with force

    def owner_data(self) -> dict[str, Any]:
        pid = os.getpid()
        return {
            "pid": pid,
            "host": socket.gethostname(),
            "user": getpass.getuser(),
            "process_started": _process_started(pid),
            "deployment": self.deployment,
            "target": self.target,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def _try_create(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.owner_data(), handle)
            handle.flush()
            os.fsync(handle.fileno())
        self.acquired = True
        return True

    def acquire(self, *, force: bool = False, wait: float = 0.0, poll: float = 0.2) -> None:
        """Take the lock, or raise ``LockHeld`` (``StaleLock`` for a dead owner without ``force``)."""
        deadline = time.monotonic() + max(wait, 0.0)
        for _ in range(int(max(wait, 0.0) / poll) + 2):
            if self._try_create():
                return
            owner = read_lock(self.path)
            if owner is None:
                continue  # released between our two looks
            alive = owner_alive(owner)
            if alive is False:
                if not force:
                    raise StaleLock(
                        f"stale lock {self.path}: held by {describe(owner)}, which is no longer running; "
                        "rerun with --force to take it over",
                        owner,
                    )
                if self._take_over(owner):
                    return
                continue
            if time.monotonic() + poll > deadline:
                extra = "" if alive else "; its owner cannot be checked from here, remove the file if it is gone"
                raise LockHeld(f"target {self.target!r} is locked by {describe(owner)}: {self.path}{extra}", owner)
            time.sleep(poll)
        owner = read_lock(self.path) or {}
        raise LockHeld(f"target {self.target!r} is locked by {describe(owner)}: {self.path}", owner)

    def _take_over(self, owner: dict[str, Any]) -> bool:
        # Rename first: of two deployments forcing at once, only one rename succeeds.
        aside = self.path.with_name(f"{self.path.name}.stale-{self.deployment}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        if read_lock(aside) != owner:  # someone else's fresh lock slipped in: put it back
            os.rename(aside, self.path)
            return False
        aside.unlink(missing_ok=True)
        if self._try_create():
            self.took_over = owner
            return True
        return False

    def release(self) -> None:
        if not self.acquired:
            return
        owner = read_lock(self.path)
        if owner and owner.get("deployment") == self.deployment and owner.get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)
        self.acquired = False

    def __enter__(self) -> DeployLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
