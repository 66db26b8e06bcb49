"""The JSON gate report: shape, schema, summary, redaction, atomic writing, reading back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest

from pytest_prodgate.errors import ConfigError, GateFailed, ProdgateError
from pytest_prodgate.gate import Gate, Severity, format_results
from pytest_prodgate.redact import MASK, Redactor
from pytest_prodgate.report.jsonreport import (
    SCHEMA_NAME,
    build_report,
    load_schema,
    passes_gates,
    read_report,
    run_metadata,
    summarize,
    write_atomically,
    write_report,
)
from pytest_prodgate.thresholds import parse_threshold
from pytest_prodgate.verdict import GateEntry, Outcome, judge


def entry(
    name: str,
    verdict: str = "pass",
    severity: str = "blocking",
    *,
    figures: dict[str, float] | None = None,
    message: str = "",
    skip_allowed: str | None = None,
) -> GateEntry:
    """A gate entry as the plugin makes it: a ``Gate`` and how its test ended, judged by ``verdict.judge``."""
    gate = Gate(name=name, family="performance", severity=Severity(severity))
    gate.record_many(figures if figures is not None else {"p95": 0.041})
    wanted = "p95 < 10ms" if verdict in ("fail", "warning") else "p95 < 500ms"
    declared = [parse_threshold(wanted).judge(gate.figures)]
    nodeid = f"gates/test_x.py::{name}"
    if verdict == "pass":
        judged = judge(gate, Outcome.PASSED, nodeid=nodeid, declared=declared, duration=0.2)
    elif verdict in ("fail", "warning"):
        error = GateFailed(message or format_results(declared), declared)
        judged = judge(gate, Outcome.FAILED, nodeid=nodeid, declared=declared, error=error, message=str(error))
    elif verdict == "error":
        mistake = ConfigError(message or "'p95 < fast' is not a threshold")
        judged = judge(gate, Outcome.FAILED, nodeid=nodeid, error=mistake, message=str(mistake))
    else:
        reason = message or "Skipped: no staging database"
        judged = judge(gate, Outcome.SKIPPED, nodeid=nodeid, message=reason, skip_allowed=skip_allowed)
    assert judged.verdict == verdict
    return judged


RUN = run_metadata(
    started=1_700_000_000.0,
    finished=1_700_000_012.5,
    exit_status=1,
    environment="staging",
    base_url="https://app:hunter22@staging.example/",
    argv=["gates"],
    pytest_version="9.0",
    commit="abc123",
)


def test_report_validates_against_its_schema_when_built_from_entries() -> None:
    report = build_report([entry("test_a"), entry("test_b", "fail")], RUN, Redactor(env={}))
    jsonschema.validate(report, load_schema())
    assert report["schema"] == SCHEMA_NAME and report["version"] == 3
    assert report["run"]["started"] == "2023-11-14T22:13:20Z"
    assert report["run"]["duration"] == 12.5
    assert report["run"]["base_url"] == f"https://app:{MASK}@staging.example/"


def test_schema_rejects_a_report_when_a_gate_lacks_its_verdict() -> None:
    report = build_report([entry("test_a")], RUN, Redactor(env={}))
    del report["gates"][0]["verdict"]
    with pytest.raises(jsonschema.ValidationError, match="verdict"):
        jsonschema.validate(report, load_schema())


def test_summary_counts_blocking_failures_when_warnings_errors_and_skips_mix() -> None:
    gates = [
        entry("a"),
        entry("b", "fail"),
        entry("c", "warning", "warning"),
        entry("d", "error"),
        entry("e", "skip"),
        entry("f", "skip", skip_allowed="no staging database on weekends"),
    ]
    assert summarize(gates) == {
        "total": 6,
        "fail": 1,
        "error": 1,
        "skip": 2,
        "warning": 1,
        "pass": 1,
        "blocking_failures": 3,
        "passed": False,
        "reason": "3 blocking gates did not pass (1 failed, 1 errored, 1 skipped without an allowance)",
    }
    assert not passes_gates({"summary": summarize(gates)})
    assert passes_gates({"summary": summarize([entry("a"), entry("c", "warning", "warning")])})


def test_a_run_does_not_pass_when_every_gate_was_skipped_with_an_allowance() -> None:
    summary = summarize([entry("f", "skip", skip_allowed="no staging database on weekends")])
    assert (summary["blocking_failures"], summary["passed"]) == (0, False)
    assert summary["reason"] == "none of the 1 gate decided (all skipped or errored)"
    assert not passes_gates({"summary": summary})


def test_passes_gates_reads_a_version_1_summary_when_it_has_no_passed_key() -> None:
    assert passes_gates({"summary": {"total": 2, "blocking_failures": 0}})
    assert not passes_gates({"summary": {"total": 2, "blocking_failures": 1}})
    assert not passes_gates({"summary": {"total": 0, "blocking_failures": 0}})


def test_gate_entries_read_back_equal_when_a_reader_loads_the_written_report(tmp_path: Path) -> None:
    gates = [
        entry("a"),
        entry("b", "fail"),
        entry("c", "warning", "warning"),
        entry("d", "error"),
        entry("f", "skip", skip_allowed="no staging database on weekends"),
    ]
    path = write_report(tmp_path / "r.json", build_report(gates, RUN, Redactor(env={})))
    written = read_report(path)["gates"]
    assert [GateEntry.from_dict(g) for g in written] == gates
    assert [g["blocking"] for g in written] == [False, True, False, True, False]
    jsonschema.validate(read_report(path), load_schema())


def test_figures_that_are_not_finite_become_null_when_written() -> None:
    report = build_report([entry("a", figures={"p95": math.nan, "rps": math.inf})], RUN, Redactor(env={}))
    assert report["gates"][0]["figures"] == {"p95": None, "rps": None}
    jsonschema.validate(report, load_schema())


def test_secret_values_are_masked_when_they_appear_anywhere() -> None:
    redactor = Redactor(env={"API_TOKEN": "tok-123456"})
    report = build_report([entry("a", verdict="fail", message="login with tok-123456 failed")], RUN, redactor)
    text = json.dumps(report)
    assert "tok-123456" not in text and "hunter22" not in text
    assert report["gates"][0]["message"] == f"login with {MASK} failed"


def test_report_is_written_whole_when_the_directory_is_missing(tmp_path: Path) -> None:
    target = tmp_path / "out" / "gates.json"
    report = build_report([entry("a")], RUN, Redactor(env={}))
    write_report(target, report)
    assert json.loads(target.read_text()) == report
    assert [p.name for p in target.parent.iterdir()] == ["gates.json"]  # no temporary file left behind
    assert target.stat().st_mode & 0o044  # readable like any output file, not 0600


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "gates.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomically(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["gates.json"]


def test_read_report_returns_the_report_when_version_matches(tmp_path: Path) -> None:
    path = write_report(tmp_path / "r.json", build_report([entry("a")], RUN, Redactor(env={})))
    assert read_report(path)["summary"]["total"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no gate report there; run pytest with --prodgate-json"),
        ("{not json", "not a JSON gate report"),
        ('{"schema": "other"}', "not a pytest-prodgate gate report"),
        ('{"schema": "pytest-prodgate/gate-report", "version": 99}', "version 99; this prodgate reads versions 1, 2"),
    ],
)
def test_read_report_names_the_problem_when_the_file_is_wrong(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ProdgateError, match=message):
        read_report(path)
