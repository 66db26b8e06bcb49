"""Baselines in the core: relative thresholds, matching gates to the baseline, deltas, the comment body."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_prodgate.baseline import Baseline
from pytest_prodgate.bounds import BaselineScope, active_baseline
from pytest_prodgate.errors import ConfigError, GateFailed, ThresholdError
from pytest_prodgate.gate import Gate
from pytest_prodgate.redact import Redactor
from pytest_prodgate.report.deltas import figure_changes
from pytest_prodgate.report.jsonreport import build_report, load_schema, write_report
from pytest_prodgate.report.markdown import render_markdown
from pytest_prodgate.thresholds import Verdict, format_change, parse_threshold
from pytest_prodgate.verdict import Outcome, judge

GOLDEN = Path(__file__).parent / "golden" / "comment_with_baseline.md"
RUN = {
    "environment": "staging",
    "base_url": "https://shop.example",
    "git_commit": "0123456789abcdef",
    "started": "2026-12-03T14:00:00Z",
    "duration": 12.5,
    "pytest_version": "9.0.0",
    "plugin_version": "0.1.0",
    "python_version": "3.12.0",
    "exit_status": 1,
    "argv": ["gates"],
}


@pytest.mark.parametrize(
    ("expression", "baseline", "measured", "limit", "verdict"),
    [
        ("p95 < baseline * 1.10", 0.040, 0.043, 0.044, Verdict.PASS),
        ("p95 < baseline * 1.10", 0.040, 0.140, 0.044, Verdict.FAIL),
        ("p95 < baseline + 20ms", 0.040, 0.059, 0.060, Verdict.PASS),
        ("p95 < baseline + 20ms", 0.040, 0.061, 0.060, Verdict.FAIL),
        ("rps > baseline * 0.9", 100.0, 95.0, 90.0, Verdict.PASS),
        ("rps > baseline * 0.9", 100.0, 80.0, 90.0, Verdict.FAIL),
        ("violations <= baseline", 3.0, 3.0, 3.0, Verdict.PASS),
        ("violations <= baseline", 3.0, 4.0, 3.0, Verdict.FAIL),
        ("p95 < max(baseline * 1.1, baseline + 5ms)", 0.002, 0.0065, 0.007, Verdict.PASS),  # the +5ms wins
        ("p95 < max(baseline * 1.1, baseline + 5ms)", 0.200, 0.219, 0.220, Verdict.PASS),  # the *1.1 wins
        ("p95 < max(baseline * 1.1, baseline + 5ms)", 0.200, 0.221, 0.220, Verdict.FAIL),
        ("error_rate <= baseline + 0.5%", 0.01, 0.016, 0.015, Verdict.FAIL),
        ("search: p95 < (baseline + 1ms) * 2", 0.010, 0.021, 0.022, Verdict.PASS),
    ],
)
def test_relative_threshold_compares_with_the_baseline_value_when_judged(
    expression: str, baseline: float, measured: float, limit: float, verdict: Verdict
) -> None:
    threshold = parse_threshold(expression)
    result = threshold.judge({threshold.key: measured}, BaselineScope({threshold.key: baseline}))
    assert result.verdict is verdict, result.message
    assert result.limit == pytest.approx(limit) and result.baseline == baseline
    assert f"({threshold.bound})" in result.message and "baseline" in result.message


def test_message_shows_limit_baseline_and_change_when_a_relative_threshold_fails() -> None:
    result = parse_threshold("p95 < baseline * 1.1").judge({"p95": 0.140}, BaselineScope({"p95": 0.040}))
    assert result.message == "p95 = 140 ms, wanted < 44 ms (baseline * 1.1); baseline 40 ms, ▲ +250%"
    assert result.to_dict()["wanted"] == "< 44 ms (baseline * 1.1)" and result.to_dict()["baseline"] == 0.040


@pytest.mark.parametrize(
    ("scope", "reason"),
    [
        (None, "no baseline report was given (--prodgate-baseline PATH)"),
        (BaselineScope(figures=None, absent="the baseline (b.json) has no gate 't.py::test_x'"), "has no gate"),
        (
            BaselineScope(figures={"p50": 0.01}, matched="t.py::test_x"),
            "the baseline gate (t.py::test_x) has no figure 'p95'",
        ),
        (BaselineScope(figures={"p95": None}), "has no figure 'p95'"),
    ],
)
def test_relative_threshold_warns_naming_why_when_the_baseline_figure_is_missing(
    scope: BaselineScope | None, reason: str
) -> None:
    result = parse_threshold("p95 < baseline * 1.1").judge({"p95": 0.05}, scope)
    assert result.verdict is Verdict.WARNING and reason in result.message
    assert "not compared" in result.message


@pytest.mark.parametrize("missing", ["fail", "error"])
def test_missing_baseline_figure_takes_the_configured_verdict_when_set(missing: str) -> None:
    scope = BaselineScope(figures={}, missing=missing)
    assert parse_threshold("p95 < baseline").judge({"p95": 0.05}, scope).verdict is Verdict(missing)


def test_current_baseline_is_used_when_a_family_engine_judges_without_one() -> None:
    threshold = parse_threshold("days_left > baseline - 7")
    with active_baseline(BaselineScope({"days_left": 30.0})):
        inside = threshold.judge({"days_left": 20.0})
    outside = threshold.judge({"days_left": 20.0})
    assert inside.verdict is Verdict.FAIL and inside.limit == 23.0
    assert outside.verdict is Verdict.WARNING


@pytest.mark.parametrize(
    ("expression", "token", "phrase"),
    [
        ("p95 < baseline + 20", "20", "needs a unit here: the figure is a duration"),
        ("p95 < baseline * 2ms", "*", "a factor after '*' has no unit"),
        ("p95 < baseline * 1.1 foo", "foo", "'foo' is not a unit"),
        ("p95 < baseline *", "baseline *", "ends too early"),
        ("p95 < max(baseline, 3ms", "max(baseline, 3ms", "ends too early"),
        ("p95 < baseline + 5%", "%", "does not fit the figure, which is a duration"),
        ("p95 < baseline baseline", "baseline", "unexpected 'baseline' after the value"),
        ("p95 < baselin * 2", "baselin", "'baselin' is not a duration"),
        ("p95 < baseline * x", "x", "is not a number, 'baseline', max(...) or min(...)"),
        ("p95 < max baseline", "baseline", "expected '(' after 'max'"),
    ],
)
def test_malformed_relative_threshold_is_a_usage_error_naming_the_token(
    expression: str, token: str, phrase: str
) -> None:
    with pytest.raises(ThresholdError) as info:
        parse_threshold(expression, where="marker")
    assert phrase in str(info.value) and info.value.token == token
    assert str(info.value).startswith(f"threshold {expression!r} in marker: ")


def test_gate_warns_but_does_not_raise_when_only_the_baseline_is_missing() -> None:
    gate = Gate("test_x", family="performance", thresholds=(parse_threshold("p95 < baseline * 1.1"),))
    gate.record("p95", 0.05)
    results = gate.check("p95 < baseline + 10ms")
    assert results[0].verdict is Verdict.WARNING
    entry = judge(gate, Outcome.PASSED, nodeid="t.py::test_x", declared=gate.judge())
    assert entry.verdict == "warning" and not entry.blocking
    assert "not compared, no baseline report was given" in entry.decided_by and entry.message


def test_gate_fails_with_its_deltas_when_a_relative_threshold_fails() -> None:
    gate = Gate("test_x", family="performance", baseline=BaselineScope({"p95": 0.04, "rps": 100.0}, matched="t::x"))
    gate.record_many({"p95": 0.1, "rps": 90.0})
    with pytest.raises(GateFailed) as info:
        gate.check("p95 < baseline * 1.5")
    entry = judge(gate, Outcome.FAILED, nodeid="t::x", error=info.value, message=str(info.value))
    assert entry.verdict == "fail" and entry.decided_by.startswith("p95 100 ms, wanted < 60 ms (baseline * 1.5)")
    assert entry.deltas()["p95"] == {"baseline": 0.04, "delta": pytest.approx(0.06), "change": pytest.approx(1.5)}
    assert entry.deltas()["rps"]["change"] == pytest.approx(-0.1)


@pytest.mark.parametrize(
    ("measured", "baseline", "shown"),
    [(0.14, 0.04, "▲ +250%"), (0.038, 0.04, "▼ -5.0%"), (1.0, 1.0, "= 0%"), (2.0, 0.0, "▲ from 0"), (0.0, 0.0, "= 0%")],
)
def test_change_is_shown_with_an_arrow_and_percentage(measured: float, baseline: float, shown: str) -> None:
    assert format_change(measured, baseline) == shown


def report_with(gates: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": "pytest-prodgate/gate-report", "version": 3, "run": RUN, "summary": {}, "gates": gates}


@pytest.fixture
def baseline_file(tmp_path: Path) -> Path:
    gates = [
        {"nodeid": "gates/test_perf.py::test_catalogue", "figures": {"p95": 0.04}},
        {"nodeid": "gates/test_perf.py::TestShop::test_search[10]", "figures": {"p95": 0.02}},
        {"nodeid": "gates/test_old.py::test_home", "figures": {"p95": 0.01}},
        {"nodeid": "gates/test_perf.py::test_page[a]", "figures": {"p95": 0.03}},
        {"nodeid": "gates/test_perf.py::test_twice[a]", "figures": {"p95": 0.03}},
        {"nodeid": "gates/test_perf.py::test_twice[b]", "figures": {"p95": 0.03}},
    ]
    path = tmp_path / "base.json"
    path.write_text(json.dumps(report_with(gates)))
    return path


@pytest.mark.parametrize(
    ("nodeid", "matched", "rule"),
    [
        ("gates/test_perf.py::test_catalogue", "gates/test_perf.py::test_catalogue", "node id"),
        ("gates/test_new.py::test_renamed", "gates/test_old.py::test_home", "renamed"),
        (
            "gates/moved/test_perf.py::TestShop::test_search[10]",
            "gates/test_perf.py::TestShop::test_search[10]",
            "moved",
        ),
        ("gates/test_perf.py::test_page[b]", "gates/test_perf.py::test_page[a]", "parameters"),
        ("gates/test_perf.py::test_twice[c]", None, "has no gate"),  # two candidates: never guessed
        ("gates/test_perf.py::test_unknown", None, "has no gate"),
    ],
)
def test_gate_is_matched_to_the_baseline_by_the_documented_rules(
    baseline_file: Path, nodeid: str, matched: str | None, rule: str
) -> None:
    baseline = Baseline.load(baseline_file, renamed={"gates/test_new.py::test_renamed": "gates/test_old.py::test_home"})
    found, why = baseline.match(nodeid)
    assert found == matched and rule in why
    scope = baseline.scope_for(nodeid)
    assert (scope.figures is None) == (matched is None)


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (None, "no gate report there"),
        ("{", "not a JSON gate report"),
        ('{"schema": "other"}', "not a pytest-prodgate gate report"),
    ],
)
def test_unreadable_baseline_is_a_config_error_naming_the_file(
    tmp_path: Path, content: str | None, phrase: str
) -> None:
    path = tmp_path / "b.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=phrase) as info:
        Baseline.load(path)
    assert str(path) in str(info.value)


def golden_report() -> dict[str, Any]:
    """Three gates against a baseline: a latency regression, an improvement, and a gate new since the baseline."""
    catalogue = Gate(
        "test_catalogue",
        "performance",
        baseline=BaselineScope(
            {"p95": 0.041, "rps": 120.0, "p50": 0.012},
            matched="gates/test_performance.py::test_catalogue",
            source="base.json",
            rule="node id",
        ),
    )
    catalogue.record_many({"p95": 0.14, "rps": 118.0, "p50": 0.013})
    with pytest.raises(GateFailed) as failed:
        catalogue.check("p95 < 500ms", "p95 < baseline * 1.1")
    search = Gate(
        "test_search",
        "performance",
        baseline=BaselineScope(
            {"p95": 0.09, "rps": 50.0},
            matched="gates/test_performance.py::test_search",
            source="base.json",
            rule="node id",
        ),
    )
    search.record_many({"p95": 0.06, "rps": 62.0})
    search.check("p95 < max(baseline * 1.1, baseline + 5ms)")
    fresh = Gate(
        "test_checkout",
        "performance",
        baseline=BaselineScope(
            figures=None,
            absent="the baseline (base.json) has no gate 'gates/test_performance.py::test_checkout'",
            source="base.json",
        ),
    )
    fresh.record("p95", 0.2)
    fresh.check("p95 < baseline * 1.1")
    entries = [
        judge(
            catalogue,
            Outcome.FAILED,
            nodeid="gates/test_performance.py::test_catalogue",
            error=failed.value,
            message=str(failed.value),
        ),
        judge(search, Outcome.PASSED, nodeid="gates/test_performance.py::test_search", declared=search.checked),
        judge(fresh, Outcome.PASSED, nodeid="gates/test_performance.py::test_checkout", declared=fresh.checked),
    ]
    return build_report(entries, RUN, Redactor(env={}))


def test_comment_body_matches_the_golden_markdown_when_a_baseline_is_attached() -> None:
    report = golden_report()
    jsonschema.validate(report, load_schema())
    text = render_markdown(report)
    if not GOLDEN.exists():  # pragma: no cover - written once, then reviewed and committed
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    changes = figure_changes(report["gates"])
    assert [(c.gate, c.figure, c.regression) for c in changes][:1] == [("test_catalogue", "p95", True)]


def test_comment_command_prints_the_golden_body_when_run(tmp_path: Path) -> None:
    write_report(tmp_path / "r.json", golden_report())
    done = subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", "report", "comment", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == GOLDEN.read_text()


def test_comment_command_is_a_usage_error_when_the_report_is_missing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", "report", "comment", str(tmp_path / "none.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4 and "none.json: no gate report there" in done.stderr and "Traceback" not in done.stderr


def test_report_of_version_2_is_still_read_as_a_baseline(tmp_path: Path) -> None:
    path = tmp_path / "v2.json"
    path.write_text(json.dumps({**report_with([{"nodeid": "t.py::test_a", "figures": {"p95": 0.5}}]), "version": 2}))
    assert Baseline.load(path).scope_for("t.py::test_a").value("p95") == (0.5, "")
    assert math.isnan(parse_threshold("p95 < baseline").value)
