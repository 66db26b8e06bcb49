"""The JSON gate report, the Markdown summary, the HTML report and JUnit XML from one run."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pytest_prodgate.report.jsonreport import load_schema
from tests.plugin.report_suite import GATES, REPORT_ARGS, SUITE, json_gates, junit_gates, markdown_gates

pytest_plugins = ["pytester"]


def test_every_report_is_written_when_all_options_are_given(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess(*REPORT_ARGS)
    assert result.parseoutcomes() == {"passed": 4, "failed": 1, "warned": 1}
    root = Path(pytester.path)
    result.stdout.fnmatch_lines(
        [
            f"prodgate: JSON gate report written to {root / 'r.json'}",
            f"prodgate: Markdown gate summary written to {root / 'r.md'}",
        ]
    )
    report = json.loads((root / "r.json").read_text())
    jsonschema.validate(report, load_schema())
    assert report["summary"] == {
        "total": 5,
        "fail": 1,
        "error": 0,
        "skip": 0,
        "warning": 1,
        "pass": 3,
        "blocking_failures": 1,
        "passed": False,
        "reason": "1 blocking gate did not pass (1 failed)",
    }
    assert json_gates(root / "r.json") == {k: v for k, v in GATES.items()}
    assert report["run"]["exit_status"] == 1
    assert report["run"]["argv"][-len(REPORT_ARGS) :] == REPORT_ARGS
    assert report["run"]["plugin_version"] == "0.1.0"
    search = next(g for g in report["gates"] if g["name"] == "test_search_load")
    assert search["thresholds"][0]["measured"] == 0.812 and search["thresholds"][0]["verdict"] == "fail"
    assert search["message"].startswith("p95 = 812 ms, wanted < 500 ms")
    assert len(search["details"]["load"]["series"]) == 20
    assert markdown_gates(root / "r.md") == {
        "test_search_load": "fail",
        "test_certificate": "warning",
        "test_orphans": "pass",
        "test_catalogue_load": "pass",
        "test_live": "pass",
    }
    assert list(markdown_gates(root / "r.md"))[0] == "test_search_load"  # failures first
    assert junit_gates(root / "r.xml") == {k: (v[1], v[2]) for k, v in GATES.items()}
    html = (root / "r.html").read_text()
    assert 'id="prodgate-summary"' in html and "Gates did not pass: 1 fail, 1 warning, 3 pass" in html


def test_paths_come_from_configuration_when_no_option_is_given(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.prodgate.report]\njson = "out/gates.json"\n')
    pytester.makeini("[pytest]\nprodgate_markdown = out/gates.md\n")
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=4, failed=1, warnings=0)
    assert json_gates(pytester.path / "out" / "gates.json") == GATES
    assert "test_search_load" in (pytester.path / "out" / "gates.md").read_text()


def test_summary_goes_to_github_when_step_summary_is_set(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([f"prodgate: GitHub step summary written to {step}"])
    assert (
        ":x: **Gates did not pass**: 1 fail, 1 warning, 3 pass — 1 blocking gate did not pass (1 failed)"
        in step.read_text()
    )


def test_step_summary_is_left_alone_when_turned_off(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    step = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    pytester.makepyprojecttoml("[tool.prodgate.report]\nstep_summary = false\n")
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest().assert_outcomes(passed=4, failed=1)
    assert not step.exists()


def test_no_report_file_is_written_when_no_path_is_configured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest()
    result.stdout.no_fnmatch_line("prodgate: * written to *")
    assert sorted(p.name for p in pytester.path.iterdir() if p.suffix in {".json", ".md"}) == []


def test_unknown_report_key_is_a_usage_error_when_misspelt(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.prodgate.report]\njsn = "x.json"\n')
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*[[]tool.prodgate.report[]]: unknown key 'jsn' (did you mean 'json'?)*"])


def test_junit_holds_gate_properties_when_run_with_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest_subprocess("-n", "2", "--junitxml=r.xml").assert_outcomes(passed=4, failed=1)
    assert junit_gates(pytester.path / "r.xml") == {k: (v[1], v[2]) for k, v in GATES.items()}
