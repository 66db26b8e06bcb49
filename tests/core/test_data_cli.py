"""``prodgate data RULES --db URL``: verdicts printed, exit codes 0, 1 and 4."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests import data_shop


def _prodgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", "data", *args], capture_output=True, text=True, timeout=120
    )


def _shop(tmp_path: Path, *, spoilt: bool) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    data_shop.seed_healthy(engine)
    if spoilt:
        data_shop.spoil(engine)
    engine.dispose()
    return url


def test_cli_exits_0_with_every_rule_passing_when_the_data_is_healthy(tmp_path: Path) -> None:
    done = _prodgate(str(data_shop.RULES_FILE), "--db", _shop(tmp_path, spoilt=False))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("prodgate data: 13 rules against sqlite:///")
    assert sum(line.startswith("PASS ") for line in lines) == 13
    assert lines[-1] == "prodgate data: 0 blocking failures"


def test_cli_exits_1_with_counts_samples_and_json_when_the_data_is_bad(tmp_path: Path) -> None:
    report = tmp_path / "data.json"
    done = _prodgate(str(data_shop.RULES_FILE), "--db", _shop(tmp_path, spoilt=True), "--json", str(report))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "FAIL     order_items.order_id->orders.id  violations 3, wanted == 0" in lines
    assert "      9001  9001" in lines
    assert lines[-1] == "prodgate data: 12 blocking failures"
    saved = json.loads(report.read_text())
    counts = {r["rule"]: r["figures"]["violations"] for r in saved["rules"]}
    assert counts == {rid: float(n) for rid, n in data_shop.BAD_COUNTS.items()}


def test_cli_exits_4_with_one_line_when_the_rules_file_has_a_mistake(tmp_path: Path) -> None:
    rules = tmp_path / "data.toml"
    rules.write_text('[[rule]]\ntype = "not_null"\ntable = "products"\n')
    done = _prodgate(str(rules), "--db", _shop(tmp_path, spoilt=False))
    assert done.returncode == 4
    assert done.stderr.splitlines() == [
        f"prodgate data: error: {rules}:1: rule #1 (not_null on products): a not_null rule needs 'column'"
    ]


def test_cli_exits_1_with_each_rule_an_error_and_its_reason_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'shop.db'}"
    report = tmp_path / "data.json"
    done = _prodgate(str(data_shop.RULES_FILE), "--db", url, "--json", str(report))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr == ""  # a gate with its reason, never a traceback
    lines = done.stdout.splitlines()
    errors = [line for line in lines if line.startswith("ERROR ")]
    assert len(errors) == 13
    reason = (
        f"cannot connect to {url} (SQLite file {url[len('sqlite:///') :]}): unable to open database file; "
        "check that the SQLite file's folder exists and is readable"
    )
    assert all(line.endswith(reason) for line in errors), errors[0]
    assert lines[-1] == "prodgate data: 13 blocking failures"
    saved = json.loads(report.read_text())
    assert (saved["passed"], saved["reason"]) == (False, "13 blocking gates did not pass (13 errored)")
    assert {(r["verdict"], r["blocking"]) for r in saved["rules"]} == {("error", True)}


def test_cli_exits_1_saying_none_decided_when_every_rule_is_a_warning_that_could_not_run(tmp_path: Path) -> None:
    rules = tmp_path / "data.toml"
    rules.write_text('[[rule]]\ntype = "not_null"\ntable = "products"\ncolumn = "sku"\nseverity = "warning"\n')
    done = _prodgate(str(rules), "--db", f"sqlite:///{tmp_path / 'no-such-folder' / 'shop.db'}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == (
        "prodgate data: 0 blocking failures; none of the 1 gate decided (all skipped or errored)"
    )
