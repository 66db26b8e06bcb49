"""Running one step's command: a real subprocess in its own process group, bounded, output captured.

Each command runs under a supervisor (``supervisor.py``) that leads the step's process group and
SIGKILLs that group when the deploy process dies, however it dies: a killed deploy leaves no orphan.

The output goes to a temporary file, not a pipe: a deploy script that starts a background service
keeps its inherited pipe open forever, and a full pipe would block a chatty one. The file is read
as the step runs (echoed line by line, secrets masked) and its tail is kept for the record.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from pytest_prodgate.deploy import supervisor
from pytest_prodgate.redact import Redactor

__all__ = ["CommandResult", "run_command", "stop_group"]

POLL = 0.05
GRACE = 5.0  # seconds between SIGTERM and SIGKILL when a step is stopped


@dataclass
class CommandResult:
    """How one command ended: exit code (None if it never started), timing and the masked tail."""

    command: str
    exit_code: int | None
    started: float
    duration: float
    tail: list[str] = field(default_factory=list)
    timed_out: bool = False
    interrupted: str | None = None  # the signal name when the deployment was interrupted
    error: str | None = None  # why it could not start
    pid: int | None = None  # the command's own pid
    process_group: int | None = None  # the step's process group (the supervisor's pid)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.interrupted

    def why(self) -> str:
        if self.error:
            return self.error
        if self.interrupted:
            return f"stopped by {self.interrupted}"
        if self.timed_out:
            return f"timed out after {self.duration:.1f}s"
        if self.exit_code is not None and self.exit_code < 0:
            return f"killed by signal {-self.exit_code}"
        return f"exit code {self.exit_code}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "duration": round(self.duration, 3),
            "timed_out": self.timed_out,
            "interrupted": self.interrupted,
            "error": self.error,
            "pid": self.pid,
            "process_group": self.process_group,
            "output_tail": self.tail,
        }


def stop_group(process: subprocess.Popen[bytes], grace: float = GRACE) -> None:
    """SIGTERM the process group, wait up to ``grace`` seconds, then SIGKILL what is left of it."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:  # children that outlived the leader (or ignored SIGTERM)
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(grace)


def run_command(
    command: str | Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str],
    timeout: float,
    redactor: Redactor,
    tail_lines: int = 40,
    echo: IO[str] | None = None,
    prefix: str = "  | ",
    interrupted: Callable[[], str | None] = lambda: None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> CommandResult:
    """Run ``command`` (a shell string or an argv list), stopping it on timeout or interruption.

    ``progress`` is called with what is known about the command (``command``, then ``process_group``,
    then ``pid``) before it starts and as each becomes known, so a record can be written ahead.
    """
    shown = command if isinstance(command, str) else " ".join(command)
    shown = redactor.text(shown)
    known: dict[str, Any] = {"command": shown, "process_group": None, "pid": None}
    tell = progress or (lambda info: None)
    tell(known)
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    started = time.time()
    clock = time.monotonic()
    tail: deque[str] = deque(maxlen=tail_lines)
    watch_r, watch_w = os.pipe()  # the deploy holds watch_w alone: its end closing means the deploy is gone
    report_r, report_w = os.pipe()
    with tempfile.TemporaryFile() as output:
        try:
            try:
                process = subprocess.Popen(
                    [sys.executable, "-I", "-S", supervisor.__file__, str(watch_r), str(report_w), "--", *argv],
                    cwd=cwd,
                    env=dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stopping it stops its children too
                    pass_fds=(watch_r, report_w),
                )
            except OSError as exc:
                return CommandResult(shown, None, started, 0.0, error=f"could not start: {exc.strerror or exc}")
            finally:
                os.close(watch_r)
                os.close(report_w)
            known["process_group"] = process.pid
            tell(known)
            report = _Report(report_r)
            reader = _LineReader(output, redactor, tail, echo, prefix)
            timed_out = False
            stopped_by: str | None = None
            deadline = clock + timeout
            while True:
                try:
                    process.wait(POLL)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if report.read() and report.pid is not None and known["pid"] is None:
                    known["pid"] = report.pid
                    tell(known)
                reader.read()
                stopped_by = interrupted()
                if stopped_by:
                    stop_group(process)
                    break
                if time.monotonic() >= deadline:
                    timed_out = True
                    stop_group(process)
                    break
            reader.read(final=True)
            report.read()
        finally:
            os.close(watch_w)
            os.close(report_r)
    return CommandResult(
        command=shown,
        exit_code=None if report.error else process.returncode,
        started=started,
        duration=time.monotonic() - clock,
        tail=list(tail),
        timed_out=timed_out,
        interrupted=stopped_by,
        error=report.error,
        pid=report.pid,
        process_group=process.pid,
    )


class _Report:
    """What the supervisor says about its command: ``pid N`` once started, or ``error: why``."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = b""
        self.pid: int | None = None
        self.error: str | None = None
        self.done = False

    def read(self) -> bool:
        """Read what is there without blocking; True when something new arrived."""
        if self.done or not select.select([self.fd], [], [], 0)[0]:
            return False
        chunk = os.read(self.fd, 4096)
        if not chunk:
            self.done = True
        self.data += chunk
        for line in self.data.decode(errors="replace").splitlines():
            if line.startswith("pid ") and line[4:].strip().isdigit():
                self.pid = int(line[4:])
            elif line.startswith("error: "):
                self.error = line[len("error: ") :]
        return bool(chunk)


class _LineReader:
    """Reads what a step wrote so far, masks each complete line, echoes it and keeps the tail."""

    def __init__(
        self, handle: IO[bytes], redactor: Redactor, tail: deque[str], echo: IO[str] | None, prefix: str
    ) -> None:
        self.handle = handle
        self.redactor = redactor
        self.tail = tail
        self.echo = echo
        self.prefix = prefix
        self.position = 0
        self.partial = b""

    def read(self, *, final: bool = False) -> None:
        self.handle.seek(self.position)
        chunk = self.handle.read()
        self.position += len(chunk)
        data = self.partial + chunk
        lines = data.split(b"\n")
        self.partial = b"" if final else lines.pop()
        for raw in lines:
            if final and not raw:
                continue
            line = self.redactor.text(raw.decode("utf-8", errors="replace").rstrip("\r"))
            self.tail.append(line)
            if self.echo is not None:
                print(f"{self.prefix}{line}", file=self.echo, flush=True)


def python_command(*args: str) -> list[str]:
    """An argv running this interpreter (the one prodgate runs under)."""
    return [sys.executable, *args]
