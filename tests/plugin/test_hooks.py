"""The hooks pytest-prodgate offers to conftest files."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_conftest_hooks_extend_gate_records_and_summary_when_implemented(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import dataclasses

        def pytest_prodgate_gate_judged(item, entry):
            doubled = 2 * entry.figures.get("p95", 0)
            return dataclasses.replace(entry, figures={**entry.figures, "doubled": doubled})

        def pytest_prodgate_summary_lines(config, entries):
            return [f"doubled p95 of {e.name}: {e.figures['doubled']}" for e in entries]
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.performance(thresholds=["p95 < 1s"])
        def test_load(gate):
            gate.record("p95", 0.25)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["performance  test_load  PASS  p95 0.25 s < 1 s", "doubled p95 of test_load: 0.5"])
