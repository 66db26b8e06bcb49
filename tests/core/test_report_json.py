"""The JSON gate report: shape, schema, summary, redaction, atomic writing, reading back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest

from pytest_prodgate.errors import ProdgateError
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


def entry(name: str, verdict: str = "pass", severity: str = "blocking", **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "nodeid": f"gates/test_x.py::{name}",
        "name": name,
        "family": "performance",
        "severity": severity,
        "verdict": verdict,
        "decided_by": "p95 41 ms < 500 ms",
        "figures": {"p95": 0.041},
        "thresholds": [
            {
                "threshold": "p95 < 500ms",
                "figure": "p95",
                "verdict": verdict,
                "measured": 0.041,
                "wanted": "< 500 ms",
                "message": "",
            }
        ],
        "message": "",
        "duration": 0.2,
        "details": {},
    }
    base.update(extra)
    return base


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
    assert report["schema"] == SCHEMA_NAME and report["version"] == 1
    assert report["run"]["started"] == "2023-11-14T22:13:20Z"
    assert report["run"]["duration"] == 12.5
    assert report["run"]["base_url"] == f"https://app:{MASK}@staging.example/"


def test_schema_rejects_a_report_when_a_gate_lacks_its_verdict() -> None:
    report = build_report([entry("test_a")], RUN, Redactor(env={}))
    del report["gates"][0]["verdict"]
    with pytest.raises(jsonschema.ValidationError, match="verdict"):
        jsonschema.validate(report, load_schema())


def test_summary_counts_blocking_failures_when_warnings_and_errors_mix() -> None:
    gates = [
        entry("a"),
        entry("b", "fail"),
        entry("c", "warning", "warning"),
        entry("d", "error"),
        entry("e", "fail", "warning"),
    ]
    assert summarize(gates) == {"total": 5, "pass": 1, "fail": 2, "warning": 1, "error": 1, "blocking_failures": 2}
    assert not passes_gates({"summary": summarize(gates)})
    assert passes_gates({"summary": summarize([entry("a"), entry("c", "warning", "warning")])})


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
        ('{"schema": "pytest-prodgate/gate-report", "version": 99}', "version 99; this prodgate reads version 1"),
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
