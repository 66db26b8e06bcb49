"""One embedded demo service per run, shared by every process of the run (plain Python).

The first process that needs a target starts the demo and writes its address to ``demo.json`` in
the run directory, under an exclusive file lock; the others (pytest-xdist workers) read it. The
process that owns the run directory stops the demo at the end, whoever started it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from pytest_prodgate.context import DemoInfo
from pytest_prodgate.errors import TargetError

INFO_FILE = "demo.json"
# The services this process started: kept so their handles live as long as the process does.
_started: list[object] = []


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "demo.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_demo(run_dir: Path) -> DemoInfo:
    """The run's demo service: started here if no process of the run has started it yet."""
    info_path = run_dir / INFO_FILE
    with _locked(run_dir):
        if info_path.exists():
            data = json.loads(info_path.read_text())
            if data.get("error"):
                raise TargetError(data["error"])
            return DemoInfo(**data)
        from pytest_prodgate.demo.server import DemoService

        try:
            service = DemoService.start()
        except Exception as exc:  # remembered, so every worker fails with the same reason
            message = f"could not start the embedded demo service: {exc}"
            info_path.write_text(json.dumps({"error": message}))
            raise TargetError(message) from None
        _started.append(service)
        info = DemoInfo(service.base_url, service.pid, service.database_url)
        tmp = info_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info.to_dict()))
        os.replace(tmp, info_path)
        return info


def stop_shared_demo(run_dir: Path, timeout: float = 5.0) -> None:
    """Stop the run's demo service, if one was started (SIGTERM, then SIGKILL after ``timeout``)."""
    info_path = run_dir / INFO_FILE
    if not info_path.exists():
        return
    data = json.loads(info_path.read_text())
    pid = data.get("pid")
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
            if finished:
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
