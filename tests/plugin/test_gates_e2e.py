"""End to end: our gates/ suite against the embedded demo service, healthy and with each fault."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_gates(*args: str, faults: str = "", columns: str = "200") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODGATE_", "PYTEST_"))}
    env["COLUMNS"] = columns
    if faults:
        env["PRODGATE_DEMO_FAULTS"] = faults
    return subprocess.run(
        [sys.executable, "-m", "pytest", "gates", "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_gates_pass_and_print_the_table_when_the_demo_is_healthy() -> None:
    done = run_gates()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "prodgate gates:" in done.stdout
    # Column widths follow the longest gate name of the run, so match the row with any spacing.
    assert re.search(r"^performance +test_catalogue_responds_quickly +PASS +p95 ", done.stdout, re.M), done.stdout
    assert "(embedded demo service, pid " in done.stdout


@pytest.mark.parametrize(
    ("fault", "family", "expected"),
    [
        ("errors", "performance", ["FAIL  error_rate 20 %, wanted < 1 %"]),
        ("leak", "performance", ["test_server_memory_stays_flat    FAIL  growth_per_100 ", "MB, wanted < 10 MB"]),
    ],
)
def test_matching_gate_fails_with_the_measured_figure_when_a_fault_is_on(
    fault: str, family: str, expected: list[str]
) -> None:
    done = run_gates("-m", family, faults=fault)
    assert done.returncode == 1, done.stdout + done.stderr
    for piece in expected:
        assert piece in done.stdout, done.stdout


def test_catalogue_gate_fails_with_its_p95_when_the_slow_fault_is_on() -> None:
    done = run_gates("-m", "performance", faults="slow")
    assert done.returncode == 1, done.stdout + done.stderr
    row = re.search(
        r"^performance +test_catalogue_responds_quickly +FAIL +p95 (?P<value>[\d.]+) (?P<unit>ms|s), wanted < 200 ms",
        done.stdout,
        re.M,
    )
    assert row, done.stdout
    # The fault adds 300 ms to every catalogue answer: that is a floor, and a busy machine only adds to it.
    p95 = float(row["value"]) / (1000 if row["unit"] == "ms" else 1)
    assert p95 >= 0.3, done.stdout


def test_every_failing_reason_is_whole_when_the_terminal_is_80_columns_wide() -> None:
    done = run_gates("-m", "readiness or health", faults="not-ready,no-security-headers", columns="80")
    assert done.returncode == 1, done.stdout + done.stderr
    # The gate table: from its title to the target line (pytest's own short summary is not cut on CI).
    table = done.stdout[done.stdout.index("prodgate gates:") : done.stdout.index("\ntarget: ")]
    assert all(len(line) <= 80 for line in table.splitlines()[1:]), table
    failing = [line for line in table.splitlines() if re.search(r"\b(FAIL|ERROR)\b", line)]
    assert failing, table
    # Each failing gate's whole reason is in the table once its wrapped lines are joined, the last
    # item of the longest list included.
    joined = " ".join(table.split())
    for needle in (
        'status = "unavailable", wanted == "ok"; checks.database.status = "failing", wanted == "ok"',
        "6 missing or weak: strict-transport-security, content-security-policy, x-content-type-options, "
        "frame-protection, referrer-policy, cookies",
    ):
        assert needle in joined, table


def test_workers_share_one_demo_service_when_run_with_xdist() -> None:
    done = run_gates("-n", "2", "-m", "performance or health")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(embedded demo service, pid " in done.stdout
    assert re.search(r"^performance +test_catalogue_responds_quickly +PASS +p95 ", done.stdout, re.M), done.stdout
