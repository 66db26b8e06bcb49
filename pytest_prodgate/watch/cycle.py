"""One watch cycle: a fresh pytest run of the watched gates in a subprocess, bounded by a timeout.

The run writes the JSON gate report (``--prodgate-json``); each gate's entry becomes an observation
(``states.observe``). A run that passes its timeout is killed with its whole process group and
counts as an *error* for every gate it held (the gates known from earlier cycles); a run that wrote
no report is an error for them too, with pytest's exit code and the tail of its output as the reason.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_prodgate.verdict import SCHEMA_NAME
from pytest_prodgate.watch.config import WatchSettings
from pytest_prodgate.watch.states import GateObservation, observe

__all__ = ["CycleResult", "run_cycle"]

CYCLE_GATE = "<cycle>"  # stands for the gates of a cycle that failed before any gate was known


@dataclass(frozen=True)
class CycleResult:
    outcome: str  # ok, timeout, error, interrupted
    observations: list[GateObservation] = field(default_factory=list)
    exit_status: int | None = None
    duration: float = 0.0
    reason: str = ""


def pytest_command(settings: WatchSettings, report: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-m",
        settings.marker,
        "--prodgate-json",
        str(report),
        "-p",
        "no:cacheprovider",
        "-q",
        *settings.pytest_args,
    ]


def run_cycle(settings: WatchSettings, known_gates: dict[str, GateObservation], stop: threading.Event) -> CycleResult:
    """Run the gates once; ``known_gates`` (gate -> a template observation) are the ones a failed run held."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if settings.environment:
        env["PRODGATE_ENV"] = settings.environment
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="prodgate-watch-") as scratch:
        report = Path(scratch) / "gates.json"
        output_path = settings.state_dir / "last-cycle.log"
        with output_path.open("wb") as output:
            process = subprocess.Popen(
                pytest_command(settings, report),
                cwd=settings.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a timeout kills the gates' children too
            )
            status = _wait(process, settings.cycle_timeout, stop)
        duration = time.monotonic() - started
        if status == "interrupted":
            return CycleResult("interrupted", duration=duration, reason="the watcher was asked to stop")
        if status == "timeout":
            why = f"the cycle ran past its timeout of {settings.cycle_timeout:g} s and was killed"
            return CycleResult("timeout", _held(known_gates, why), None, duration, why)
        data = _read_report(report)
        exit_status = process.returncode
        if data is None:
            tail = _tail(output_path)
            why = f"pytest exited with code {exit_status} and wrote no gate report" + (f": {tail}" if tail else "")
            return CycleResult("error", _held(known_gates, why), exit_status, duration, why)
        observations = [observe(g) for g in data.get("gates", []) if isinstance(g, dict)]
        reason = str(data.get("summary", {}).get("reason", ""))
        if not observations:
            reason = f"no gates selected by -m {settings.marker!r}"
        return CycleResult("ok", observations, exit_status, duration, reason)


def _wait(process: subprocess.Popen[bytes], timeout: float, stop: threading.Event) -> str:
    give_up = time.monotonic() + timeout
    while True:
        try:
            process.wait(timeout=0.1)
            return "done"
        except subprocess.TimeoutExpired:
            pass
        if stop.is_set():
            _kill(process, graceful=True)
            return "interrupted"
        if time.monotonic() > give_up:
            _kill(process, graceful=False)
            return "timeout"


def _kill(process: subprocess.Popen[bytes], *, graceful: bool) -> None:
    try:
        if graceful:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                pass
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_NAME:
        return None
    return data


def _held(known: dict[str, GateObservation], why: str) -> list[GateObservation]:
    if not known:
        return [GateObservation(CYCLE_GATE, None, "blocking", "error", why)]
    return [GateObservation(gate, seen.family, seen.severity, "error", why) for gate, seen in sorted(known.items())]


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])[:400]
