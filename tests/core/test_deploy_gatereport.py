"""Deciding a gate run on its JSON gate report (hand-made reports in the documented format)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_prodgate.deploy.gatereport import decide, read_gate_report
from pytest_prodgate.redact import Redactor
from pytest_prodgate.report.jsonreport import build_report
from pytest_prodgate.verdict import GateEntry


def report(*gates: tuple[str, str, str], exit_status: int = 0, allowed: str | None = None) -> dict[str, Any]:
    """A version 2 report as the plugin writes it: ``GateEntry`` values through ``build_report``."""
    entries = [
        GateEntry(
            nodeid=f"gates/test_x.py::{name}",
            name=name,
            family="readiness",
            severity=severity,
            verdict=verdict,
            decided_by=f"{name} said {verdict}",
            skip_allowed=allowed if verdict == "skip" else None,
        )
        for name, severity, verdict in gates
    ]
    return build_report(entries, {"exit_status": exit_status}, Redactor(env={}))


def test_gates_pass_when_no_blocking_gate_failed_and_one_warned() -> None:
    decision = decide(report(("a", "blocking", "pass"), ("b", "warning", "warning")), 0, expression="readiness")
    assert decision.passed
    assert decision.reason == "2 gates, none blocking (1 warning, non-blocking)"
    assert decision.warnings == ["gates/test_x.py::b: b said warning"]


def test_gates_fail_when_a_blocking_gate_failed_or_errored() -> None:
    decision = decide(
        report(("a", "blocking", "fail"), ("b", "blocking", "error"), exit_status=1), 1, expression="readiness"
    )
    assert not decision.passed
    assert decision.reason == "2 blocking gates did not pass (1 failed, 1 errored)"
    assert decision.blocking == ["gates/test_x.py::a: a said fail", "gates/test_x.py::b: b said error"]
    assert decision.to_dict()["decided_by"] == "gate report"


def test_gates_fail_naming_the_skip_when_a_blocking_gate_skipped_without_an_allowance() -> None:
    decision = decide(report(("a", "blocking", "pass"), ("b", "blocking", "skip")), 0, expression="readiness")
    assert not decision.passed
    assert decision.reason == "1 blocking gate did not pass (1 skipped without an allowance)"
    assert decision.blocking == ["gates/test_x.py::b: b said skip"]


def test_gates_pass_when_a_blocking_gate_skipped_with_an_allowance() -> None:
    both = report(("a", "blocking", "pass"), ("b", "blocking", "skip"), allowed="no staging database on weekends")
    decision = decide(both, 0, expression="readiness")
    assert (decision.passed, decision.blocking) == (True, [])
    assert decision.summary["skip"] == 1


def test_gates_fail_when_every_gate_skipped_even_with_an_allowance() -> None:
    decision = decide(report(("b", "blocking", "skip"), allowed="no staging database"), 0, expression="readiness")
    assert not decision.passed
    assert decision.reason == "none of the 1 gate decided (all skipped or errored)"


def test_report_decides_over_exit_code_when_only_a_non_gate_test_failed() -> None:
    decision = decide(report(("a", "blocking", "pass"), exit_status=1), 1, expression="readiness")
    assert decision.passed


def test_gates_fail_when_the_expression_selects_no_gate() -> None:
    decision = decide(report(exit_status=5), 5, expression="readines")
    assert not decision.passed
    assert decision.reason == "no gates selected by -m 'readines'"


def test_gates_fail_when_pytest_hit_a_usage_error_despite_a_report() -> None:
    decision = decide(report(("a", "blocking", "pass"), exit_status=4), 4, expression="readiness")
    assert decision.reason == "pytest ended with exit code 4 (usage error)"


def test_exit_code_decides_and_says_so_when_the_report_is_missing(tmp_path: Path) -> None:
    missing = read_gate_report(tmp_path / "nothing.json")
    assert missing is None
    failed = decide(missing, 1, expression="readiness")
    passed = decide(missing, 0, expression="readiness")
    assert (failed.passed, failed.reason) == (False, "no gate report; decided by pytest's exit code 1 (tests failed)")
    assert (passed.passed, passed.reason) == (True, "no gate report; decided by pytest's exit code 0 (all passed)")
    assert passed.to_dict()["decided_by"] == "pytest exit code"


def test_report_is_ignored_when_it_is_not_a_gate_report(tmp_path: Path) -> None:
    (tmp_path / "half.json").write_text('{"schema": "pytest-prodgate/gate-rep')
    (tmp_path / "other.json").write_text(json.dumps({"schema": "something-else", "summary": {}}))
    assert read_gate_report(tmp_path / "half.json") is None
    assert read_gate_report(tmp_path / "other.json") is None
    good = tmp_path / "good.json"
    good.write_text(json.dumps(report(("a", "blocking", "pass"))))
    assert read_gate_report(good) == report(("a", "blocking", "pass"))
