"""One-at-a-time execution across processes: performance gates on different pytest-xdist workers.

Two load tests running at once would distort each other's figures. The scheduler keeps performance
gates in one group where it can; this lock makes it a guarantee whatever the ``--dist`` mode:
an exclusive ``flock`` on a file named after the test run, which the operating system releases
when the holder finishes or dies, so a wait lasts at most as long as the gate being waited for.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: grouping by the scheduler only
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunLock", "lock_path"]


def lock_path(run_id: str, name: str = "performance") -> Path:
    """The lock file shared by every worker of the run ``run_id``."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in run_id)
    return Path(tempfile.gettempdir()) / f"pytest-prodgate-{name}-{safe}.lock"


class RunLock:
    """``with RunLock(path):`` holds an exclusive lock on ``path`` (shared by processes on this machine)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        if fcntl is not None:
            self._fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
