"""The run lock that keeps performance gates on different processes from overlapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytest_prodgate.report.serial import lock_path

HOLDER = """
import sys, time
from pathlib import Path
from pytest_prodgate.report.serial import RunLock
lock, log, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
for _ in range(3):
    with RunLock(lock):
        with log.open("a") as f:
            f.write(f"start {name}\\n")
        time.sleep(0.05)
        with log.open("a") as f:
            f.write(f"end {name}\\n")
"""


def test_holders_never_overlap_when_two_processes_want_the_lock(tmp_path: Path) -> None:
    lock, log = tmp_path / "run.lock", tmp_path / "log.txt"
    procs = [subprocess.Popen([sys.executable, "-c", HOLDER, str(lock), str(log), name]) for name in ("a", "b")]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 12
    for start, end in zip(lines[::2], lines[1::2], strict=False):
        assert start.startswith("start ") and end == "end " + start.split()[1]


def test_lock_path_is_one_file_per_run_when_ids_have_odd_characters() -> None:
    assert lock_path("ab/c d").name == "pytest-prodgate-performance-ab_c_d.lock"
    assert lock_path("x") == lock_path("x") != lock_path("y")
