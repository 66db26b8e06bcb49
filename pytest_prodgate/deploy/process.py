"""Running one step's command: a real subprocess in its own process group, bounded, output captured.

The output goes to a temporary file, not a pipe: a deploy script that starts a background service
keeps its inherited pipe open forever, and a full pipe would block a chatty one. The file is read
as the step runs (echoed line by line, secrets masked) and its tail is kept for the record.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

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
) -> CommandResult:
    """Run ``command`` (a shell string or an argv list), stopping it on timeout or interruption."""
    shown = command if isinstance(command, str) else " ".join(command)
    shown = redactor.text(shown)
    started = time.time()
    clock = time.monotonic()
    tail: deque[str] = deque(maxlen=tail_lines)
    with tempfile.TemporaryFile() as output:
        try:
            process = subprocess.Popen(
                command,
                shell=isinstance(command, str),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopping it stops its children too
            )
        except OSError as exc:
            return CommandResult(shown, None, started, 0.0, error=f"could not start: {exc.strerror or exc}")
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
    return CommandResult(
        command=shown,
        exit_code=process.returncode,
        started=started,
        duration=time.monotonic() - clock,
        tail=list(tail),
        timed_out=timed_out,
        interrupted=stopped_by,
    )


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
