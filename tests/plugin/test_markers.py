"""Family markers: registration, selection, thresholds on markers, severity."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

GATES = """
import pytest

@pytest.mark.performance(thresholds=["p95 < 500ms", "error_rate < 1%"])
def test_catalogue_load(gate):
    gate.record("p95", 0.041)
    gate.record("error_rate", 0.0)

@pytest.mark.performance(thresholds=["p95 < 500ms"])
def test_search_load(gate):
    gate.record("p95", 0.812)

@pytest.mark.readiness
def test_settings():
    pass

@pytest.mark.health
def test_probe():
    pass

@pytest.mark.data
def test_orphans():
    assert 3 == 0, "3 orphans"
"""


def test_markers_are_listed_when_asking_pytest_markers(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.readiness(thresholds=*severity=*): Gate that decides whether a release may go out*",
            "@pytest.mark.data(*): Gate that checks the data is sound*",
            "@pytest.mark.performance(*): Gate judged by load and latency figures*",
            "@pytest.mark.health(*): Gate that probes a running target*",
        ]
    )


def test_family_is_selected_when_using_m_with_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gates=GATES)
    result = pytester.runpytest("-m", "performance", "--strict-markers")
    result.assert_outcomes(passed=1, failed=1, deselected=3)
    result = pytester.runpytest("-m", "readiness or health", "--strict-markers")
    result.assert_outcomes(passed=2, deselected=3)


def test_marker_thresholds_judge_recorded_figures_when_the_test_ends(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gates=GATES)
    result = pytester.runpytest("-m", "performance")
    result.assert_outcomes(passed=1, failed=1, deselected=3)
    result.stdout.fnmatch_lines(
        ["*_ test_search_load _*", "p95 = 812 ms, wanted < 500 ms", "", "  figure*measured*wanted*verdict"]
    )
    result.stdout.fnmatch_lines(["FAILED test_gates.py::test_search_load - p95 = 812 ms, wanted < 500 ms"])
    assert result.ret == 1


def test_missing_figure_is_an_error_when_a_threshold_names_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.performance(thresholds=["p95 < 500ms"])
        def test_forgot(gate):
            gate.record("p59", 0.1)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at call of test_forgot*", "p95: no figure 'p95' was recorded (did you mean 'p59'?)"]
    )
    result.stdout.fnmatch_lines(
        ["performance  test_forgot  ERROR  p95: no figure 'p95' was recorded (did you mean 'p59'?)"]
    )


def test_warning_gate_does_not_change_exit_code_when_it_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.readiness(severity="warning", thresholds=["days_left > 14"])
        def test_cert(gate):
            gate.record("days_left", 5)

        @pytest.mark.readiness(severity="warning")
        def test_lint():
            assert False, "2 lint findings"

        @pytest.mark.readiness
        def test_env():
            pass
        """
    )
    result = pytester.runpytest("-rA")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["test_*.py WW.*", "*1 passed, 2 warned*"])
    result.stdout.fnmatch_lines(
        [
            "*prodgate gates: 2 warning, 1 pass*",
            "readiness  test_cert  WARNING  days_left 5, wanted > 14",
            "*test_env*PASS*",
            "*test_lint*WARNING*AssertionError: 2 lint findings*",
            "warning (non-blocking) test_*.py::test_cert:",
            "    days_left = 5, wanted > 14",
        ]
    )


def test_verbose_shows_the_warning_word_when_a_warning_gate_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.health(severity="warning")
        def test_headers():
            assert False
        """
    )
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(["*::test_headers WARNING*"])
    assert result.ret == 0


def test_blocking_is_the_default_severity_when_not_given(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.health
        def test_headers():
            assert False
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)


def test_gate_check_inside_a_test_fails_with_the_table_when_a_threshold_misses(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.data
        def test_rows(gate):
            gate.record("violations", 3)
            gate.check("violations == 0")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["violations = 3, wanted == 0", "*figure*", "*violations*3*== 0*FAIL*", "", "test_*.py:6"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
