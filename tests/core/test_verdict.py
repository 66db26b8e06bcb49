"""The verdict as a core value: ``judge`` and ``decide_run`` (plain Python, no pytest run)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_prodgate.config import load_config
from pytest_prodgate.errors import ConfigError, GateFailed
from pytest_prodgate.gate import Gate, Severity
from pytest_prodgate.summary import render_table
from pytest_prodgate.thresholds import parse_thresholds
from pytest_prodgate.verdict import GateEntry, Outcome, decide_run, judge, skip_allowance, summarize


def _gate(*thresholds: str, severity: Severity = Severity.BLOCKING, **figures: float) -> Gate:
    gate = Gate(name="test_g", family="performance", severity=severity, thresholds=parse_thresholds(list(thresholds)))
    gate.record_many(figures)
    return gate


def _entry(verdict: str, severity: str = "blocking", skip_allowed: str | None = None, name: str = "g") -> GateEntry:
    return GateEntry(
        nodeid=f"t.py::{name}",
        name=name,
        family="health",
        severity=severity,
        verdict=verdict,
        decided_by=f"{verdict} reason",
        skip_allowed=skip_allowed,
    )


def test_passed_gate_is_decided_by_its_first_threshold_when_every_threshold_holds() -> None:
    gate = _gate("p95 < 500ms", "error_rate < 1%", p95=0.041, error_rate=0.0)
    entry = judge(gate, Outcome.PASSED, nodeid="t.py::test_g", declared=gate.judge())
    assert (entry.verdict, entry.decided_by, entry.blocking) == ("pass", "p95 41 ms < 500 ms", False)
    assert [t["threshold"] for t in entry.thresholds] == ["p95 < 500ms", "error_rate < 1%"]


def test_failed_threshold_decides_when_the_gate_failed_on_it() -> None:
    gate = _gate("p95 < 500ms", p95=0.812)
    declared = gate.judge()
    entry = judge(gate, Outcome.FAILED, nodeid="t.py::test_g", declared=declared, error=GateFailed("x", declared))
    assert (entry.verdict, entry.decided_by, entry.blocking) == ("fail", "p95 812 ms, wanted < 500 ms", True)


def test_inline_thresholds_are_kept_when_gate_check_judged_them() -> None:
    gate = _gate(p95=0.3)
    gate.check("p95 < 1s")
    with pytest.raises(GateFailed) as caught:
        gate.check("p95 < 100ms")
    entry = judge(gate, Outcome.FAILED, nodeid="t.py::test_g", error=caught.value, message=str(caught.value))
    assert [(t["threshold"], t["verdict"]) for t in entry.thresholds] == [("p95 < 1s", "pass"), ("p95 < 100ms", "fail")]
    assert entry.decided_by == "p95 300 ms, wanted < 100 ms"


def test_other_failures_keep_their_whole_reason_when_no_threshold_decided() -> None:
    reason = "AssertionError: " + "x" * 300
    entry = judge(_gate(), Outcome.FAILED, nodeid="t.py::test_g", error=AssertionError(), message=reason + "\nmore")
    assert (entry.verdict, entry.decided_by) == ("fail", reason)


def test_setup_failure_and_config_error_are_errors_when_the_gate_could_not_run() -> None:
    in_setup = judge(_gate(), Outcome.FAILED, nodeid="t.py::g", in_call=False, message="ConnectError: refused")
    config = judge(_gate(), Outcome.FAILED, nodeid="t.py::g", error=ConfigError("bad key"), message="bad key")
    assert (in_setup.verdict, in_setup.decided_by, in_setup.blocking) == ("error", "ConnectError: refused", True)
    assert config.verdict == "error"


def test_warning_severity_downgrades_a_failure_when_the_gate_is_not_blocking() -> None:
    gate = _gate("p95 < 500ms", severity=Severity.WARNING, p95=0.9)
    declared = gate.judge()
    entry = judge(gate, Outcome.FAILED, nodeid="t.py::g", declared=declared, error=GateFailed("x", declared))
    assert (entry.verdict, entry.blocking) == ("warning", False)


def test_skip_keeps_its_reason_and_blocks_when_not_allowed() -> None:
    entry = judge(_gate(), Outcome.SKIPPED, nodeid="t.py::g", message="the target is not served over https")
    assert (entry.verdict, entry.decided_by, entry.blocking) == ("skip", "the target is not served over https", True)
    allowed = judge(_gate(), Outcome.SKIPPED, nodeid="t.py::g", message="no https", skip_allowed="local runs are http")
    assert (allowed.blocking, allowed.skip_allowed) == (False, "local runs are http")


def test_skip_allowance_is_ignored_when_the_gate_did_not_skip() -> None:
    entry = judge(_gate(), Outcome.PASSED, nodeid="t.py::g", skip_allowed="reason")
    assert entry.skip_allowed is None


def test_run_passes_when_a_gate_decided_and_none_blocks() -> None:
    decision = decide_run([_entry("pass"), _entry("warning", severity="warning"), _entry("skip", skip_allowed="ok")])
    assert decision.passed and decision.reason == "3 gates, none blocking (1 warning, non-blocking)"


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([], "no gate was selected"),
        ([_entry("skip", skip_allowed="ok"), _entry("skip", skip_allowed="ok")], "none of the 2 gates decided"),
        ([_entry("pass"), _entry("skip")], "1 blocking gate did not pass (1 skipped without an allowance)"),
        ([_entry("fail"), _entry("error"), _entry("pass")], "2 blocking gates did not pass (1 failed, 1 errored)"),
    ],
    ids=["empty", "all-skipped", "unallowed-skip", "fail-and-error"],
)
def test_run_never_passes_when_nothing_decided_or_a_gate_blocks(entries: list[GateEntry], reason: str) -> None:
    decision = decide_run(entries)
    assert not decision.passed and decision.reason.startswith(reason)


def test_error_of_a_warning_gate_does_not_block_when_severity_is_warning() -> None:
    assert decide_run([_entry("pass"), _entry("error", severity="warning")]).passed


def test_summary_counts_every_verdict_and_says_the_decision() -> None:
    summary = summarize([_entry("pass"), _entry("skip"), _entry("fail", severity="warning")])
    assert {k: summary[k] for k in ("total", "pass", "skip", "fail", "blocking_failures", "passed")} == {
        "total": 3,
        "pass": 1,
        "skip": 1,
        "fail": 1,
        "blocking_failures": 1,
        "passed": False,
    }


def test_entry_round_trips_through_its_dict_when_sent_between_processes() -> None:
    entry = dataclasses.replace(_entry("skip", skip_allowed="ok"), figures={"p95": 0.1}, details={"k": [1]})
    assert GateEntry.from_dict(entry.to_dict()) == entry
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.verdict = "pass"  # type: ignore[misc]


def test_allowances_come_from_marker_then_node_id_pattern_then_family(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.prodgate.allow_skip]\n"gates/test_h.py::test_tls*" = "http locally"\n'
        '[tool.prodgate.readiness]\nallow_skip = "django is optional here"\n'
    )
    settings = load_config(tmp_path / "pyproject.toml")
    assert skip_allowance(settings, "health", "gates/test_h.py::test_tls[x]", "marker says") == "marker says"
    assert skip_allowance(settings, "health", "gates/test_h.py::test_tls_certificate") == "http locally"
    assert skip_allowance(settings, "readiness", "gates/test_r.py::test_django") == "django is optional here"
    assert skip_allowance(settings, "health", "gates/test_h.py::test_headers") is None


def test_allow_skip_must_be_a_reason_when_configured(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.prodgate.health]\nallow_skip = true\n")
    with pytest.raises(ConfigError, match=r"allow_skip"):
        load_config(tmp_path / "pyproject.toml")


def test_table_wraps_a_long_reason_under_its_column_when_the_terminal_is_narrow() -> None:
    long = "chain not verified against the CA bundle: unable to get local issuer certificate (+6 more)"
    lines = render_table([_entry("pass", name="test_a"), dataclasses.replace(_entry("fail"), decided_by=long)], 80)
    assert all(len(line) <= 80 for line in lines)
    assert " ".join(" ".join(lines).split()).count("(+6 more)") == 1
    assert "unable to get local issuer certificate" in " ".join(" ".join(lines).split())
