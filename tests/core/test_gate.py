"""The Gate record: figures, immediate checks and the failure table."""

from __future__ import annotations

import pytest

from pytest_prodgate.errors import GateFailed, ThresholdError
from pytest_prodgate.gate import Gate, Severity, format_results
from pytest_prodgate.thresholds import Verdict, parse_thresholds
from pytest_prodgate.verdict import deciding_figure


def test_check_raises_gate_failed_with_a_table_when_a_threshold_misses() -> None:
    gate = Gate("t", "performance")
    gate.record_many({"p95": 0.812, "error_rate": 0.004})
    with pytest.raises(GateFailed) as info:
        gate.check("p95 < 500ms", "error_rate < 1%")
    lines = str(info.value).splitlines()
    assert lines[0] == "p95 = 812 ms, wanted < 500 ms"
    assert lines[2].split() == ["figure", "measured", "wanted", "verdict"]
    assert lines[3].split() == ["p95", "812", "ms", "<", "500", "ms", "FAIL"]
    assert lines[4].split() == ["error_rate", "0.4", "%", "<", "1", "%", "PASS"]
    assert [r.verdict for r in info.value.results] == [Verdict.FAIL, Verdict.PASS]


def test_check_returns_results_when_every_threshold_holds() -> None:
    gate = Gate("t")
    gate.record("rows", 0)
    (result,) = gate.check("rows == 0")
    assert result.passed and gate.checked == [result]


def test_record_refuses_a_non_number_when_recorded() -> None:
    gate = Gate("t")
    with pytest.raises(ThresholdError, match="must be a number in base units"):
        gate.record("p95", "41ms")  # type: ignore[arg-type]
    with pytest.raises(ThresholdError):
        gate.record("ok", True)


def test_prefix_scopes_figures_when_recording_many() -> None:
    gate = Gate("t")
    gate.record_many({"p95": 0.1}, prefix="search")
    assert gate.figures == {"search.p95": 0.1}


def test_judge_uses_declared_thresholds_and_deciding_figure_reads_well_when_failed() -> None:
    gate = Gate("t", "performance", Severity.WARNING, parse_thresholds(["p95 < 500ms", "rps >= 10"]))
    gate.record_many({"p95": 0.041, "rps": 4})
    results = gate.judge()
    assert [r.verdict for r in results] == [Verdict.PASS, Verdict.FAIL]
    assert deciding_figure(results, gate.figures) == "rps 4/s, wanted >= 10/s"
    assert "rps = 4/s, wanted >= 10/s" in format_results(results)
    assert gate.to_dict()["severity"] == "warning"
