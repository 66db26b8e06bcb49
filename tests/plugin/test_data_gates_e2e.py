"""End to end: gates/data.toml and gates/test_data.py against the embedded demo's database.

Healthy, every data gate passes; with the ``bad-data`` fault each fails with exactly the number of
orphans, duplicates, NULLs, wrong totals, future orders and negative quantities the fault documents.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_prodgate.demo import BAD_DATA

ROOT = Path(__file__).resolve().parents[2]


def run_data_gates(faults: str = "", *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODGATE_", "PYTEST_"))}
    if faults:
        env["PRODGATE_DEMO_FAULTS"] = faults
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "gates",
            "-m",
            "data",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-q",
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_data_gates_pass_when_the_demo_data_is_healthy() -> None:
    done = run_data_gates()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "prodgate gates: 8 pass" in done.stdout
    assert "data  no_future(orders.created_at)           PASS  violations 0" in done.stdout


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_each_data_gate_fails_with_the_exact_count_and_sample_keys_when_bad_data_is_on(workers: list[str]) -> None:
    done = run_data_gates("bad-data", *workers)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "prodgate gates: 8 fail" in out
    lines = out.splitlines()
    headlines = {
        "orphan_order_items": "orphans in order_items.order_id -> orders.id: violations = {}, wanted == 0",
        "duplicate_skus": "duplicates in products.sku: violations = {}, wanted == 0",
        "null_prices": "NULLs in products.price_cents: violations = {}, wanted == 0",
        "null_emails": "NULLs in customers.email: violations = {}, wanted == 0",
        "wrong_order_totals": "wrong orders.total_cents against SUM(quantity * unit_price_cents) of order_items: "
        "violations = {}, wanted == 0",
        "future_orders": "future timestamps in orders.created_at (after now + 5m): violations = {}, wanted == 0",
        "negative_quantities": "values below 1 in order_items.quantity: violations = {}, wanted == 0",
    }
    assert set(headlines) == set(BAD_DATA)
    for problem, headline in headlines.items():
        assert headline.format(BAD_DATA[problem]) in lines, problem
    # Sample keys: the rows BAD_DATA_ROWS names.
    for sample in (
        ["  900001  900001", "  900002  900002", "  900003  900003"],
        ["  SKU-00001  2     1         900001", "  SKU-00002  2     2         900002"],
        ["  10  NULL", "  20  NULL", "  30  NULL", "  40  NULL"],
        ["  5   NULL", "  15  NULL"],
        ["  900004  -1", "  900005  -1"],
    ):
        for row in sample:
            assert any(line.startswith(row) for line in lines), row
    wrong = [line.split()[0] for line in lines[lines.index(headlines["wrong_order_totals"].format(5)) :][7:12]]
    assert wrong == ["3", "6", "9", "12", "15"]
    assert "NULLs in products.price_cents: null_rate = 1.98 %, wanted < 1 %" in lines
