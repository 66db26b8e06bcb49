"""Every selected gate is accounted for: skipped and errored gates appear, with their reason, in the
table, the JSON, the Markdown, the HTML (read in headless Chromium) and prodgate deploy's decision."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_prodgate.deploy.gatereport import decide, read_gate_report
from tests.plugin.test_report_html import chromium, run_chromium

pytest_plugins = ["pytester"]

SUITE = """
import pytest


@pytest.fixture
def needs_vault():
    pytest.skip("no vault token in this environment")


@pytest.fixture
def broken_target():
    raise ConnectionRefusedError("connect to 127.0.0.1:9 refused")


@pytest.mark.health(thresholds=["latency < 1s"])
def test_passes(gate):
    gate.record("latency", 0.05)


@pytest.mark.health
def test_explicit_skip(gate):
    pytest.skip("the target http://127.0.0.1:1 is not served over https")


@pytest.mark.readiness
def test_importorskip(gate):
    pytest.importorskip("module_that_is_not_there_42")


@pytest.mark.data
def test_skip_in_fixture(needs_vault, gate):
    gate.record("violations", 0)


@pytest.mark.performance
def test_errors_in_setup(broken_target, gate):
    gate.record("p95", 0.1)
"""

ARTIFACTS = ("--prodgate-json=r.json", "--prodgate-markdown=r.md", "--html=r.html", "--self-contained-html")
REASONS = {
    "test_explicit_skip": "the target http://127.0.0.1:1 is not served over https",
    "test_importorskip": "could not import 'module_that_is_not_there_42'",
    "test_skip_in_fixture": "no vault token in this environment",
    "test_errors_in_setup": "ConnectionRefusedError: connect to 127.0.0.1:9 refused",
}


def _read(pytester: pytest.Pytester) -> tuple[dict[str, Any], str, str]:
    report = json.loads((pytester.path / "r.json").read_text())
    return report, (pytester.path / "r.md").read_text(), html.unescape((pytester.path / "r.html").read_text())


def test_skipped_and_errored_gates_appear_everywhere_when_they_did_not_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("-rA", *ARTIFACTS)
    result.assert_outcomes(passed=1, skipped=3, errors=1)
    assert result.ret == 1
    out = result.stdout.str()
    report, markdown, page = _read(pytester)
    assert report["version"] == 3
    summary = report["summary"]
    assert {k: summary[k] for k in ("total", "pass", "skip", "error", "passed")} == {
        "total": 5,
        "pass": 1,
        "skip": 3,
        "error": 1,
        "passed": False,
    }
    by_name = {g["name"]: g for g in report["gates"]}
    for name, reason in REASONS.items():
        gate = by_name[name]
        assert reason in gate["decided_by"], gate
        assert gate["blocking"] is True
        assert reason in " ".join(out.split()), name  # the table wraps; the whole reason is there
        assert reason in markdown, name
        assert reason in page, name
    assert {by_name[n]["verdict"] for n in REASONS} == {"skip", "error"}
    assert "gates NOT passed: 4 blocking gates did not pass (1 errored, 3 skipped without an allowance)" in out
    assert "**Gates did not pass**" in markdown and "Gates did not pass" in page
    decision = decide(read_gate_report(pytester.path / "r.json"), result.ret, expression="")
    assert not decision.passed and "3 skipped without an allowance" in decision.reason


def test_skips_pass_the_run_when_the_project_allows_them(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.prodgate.allow_skip]
        "test_suite.py::test_explicit_skip" = "local targets are plain http"
        [tool.prodgate.readiness]
        allow_skip = "the optional module is not installed everywhere"
        [tool.prodgate.data]
        allow_skip = "the vault is only reachable from production"
        """
    )
    pytester.makepyfile(
        test_suite=SUITE.replace("@pytest.mark.performance\n", "@pytest.mark.performance(allow_skip='x')\n")
    )
    result = pytester.runpytest("-k", "not errors_in_setup", *ARTIFACTS)
    result.assert_outcomes(passed=1, skipped=3, deselected=1)
    assert result.ret == 0
    report, markdown, _ = _read(pytester)
    assert report["summary"]["passed"] is True and report["summary"]["skip"] == 3
    allowed = {g["name"]: g["skip_allowed"] for g in report["gates"] if g["verdict"] == "skip"}
    assert allowed == {
        "test_explicit_skip": "local targets are plain http",
        "test_importorskip": "the optional module is not installed everywhere",
        "test_skip_in_fixture": "the vault is only reachable from production",
    }
    assert "(skip allowed: local targets are plain http)" in " ".join(result.stdout.str().split())
    assert "(skip allowed: local targets are plain http)" in markdown
    assert decide(read_gate_report(pytester.path / "r.json"), 0, expression="").passed


def test_a_run_never_passes_when_every_gate_skipped(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.prodgate.allow_skip]\n"*" = "allowed, but nothing decided"\n')
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("-k", "skip", *ARTIFACTS)
    result.assert_outcomes(skipped=3, deselected=2)
    assert result.ret == 1
    report, _, _ = _read(pytester)
    assert report["summary"]["passed"] is False
    assert report["summary"]["reason"] == "none of the 3 gates decided (all skipped or errored)"
    result.stdout.fnmatch_lines(["gates NOT passed: none of the 3 gates decided (all skipped or errored)"])
    assert not decide(read_gate_report(pytester.path / "r.json"), 0, expression="").passed


def test_a_run_that_selects_no_gate_never_passes_the_gates(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE + "\n\ndef test_plain():\n    pass\n")
    result = pytester.runpytest("-k", "plain", "--prodgate-json=r.json")
    result.assert_outcomes(passed=1, deselected=5)
    assert result.ret == 0  # a plain test run is not a gate run: its exit status is pytest's own
    assert "prodgate gates" not in result.stdout.str()
    report = json.loads((pytester.path / "r.json").read_text())
    assert (report["summary"]["total"], report["summary"]["passed"]) == (0, False)
    decision = decide(read_gate_report(pytester.path / "r.json"), 0, expression="health")
    assert not decision.passed and "no gates selected" in decision.reason


def test_skipped_and_errored_gates_show_with_reasons_when_the_html_is_opened_in_chromium(
    pytester: pytest.Pytester,
) -> None:
    binary = chromium()
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest_subprocess("-n", "2", *ARTIFACTS).assert_outcomes(passed=1, skipped=3, errors=1)
    url = Path(pytester.path / "r.html").as_uri() + "?collapsed="
    dom = run_chromium(binary, "--virtual-time-budget=5000", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = html.unescape(dom.stdout)
    summary = text[text.index('id="prodgate-summary"') :]
    summary = summary[: summary.index("</div>")]
    for reason in REASONS.values():
        assert reason in summary
    assert summary.count('prodgate-verdict skip">SKIP') == 3
    assert summary.count('prodgate-verdict error">ERROR') == 1
    assert "Gates did not pass" in summary
