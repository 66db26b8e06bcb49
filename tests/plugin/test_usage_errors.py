"""Mistakes in thresholds, markers and configuration: one line, the place, exit code 4."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def assert_one_line_usage_error(result: pytest.RunResult, *expected: str) -> None:
    assert result.ret == 4
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.lines
    for piece in expected:
        assert piece in errors[0], errors[0]
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_malformed_threshold_in_config_exits_4_when_collected(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.prodgate.performance]\nthresholds = ["p95 < fast"]\n')
    pytester.makepyfile("def test_a(): pass")
    result = pytester.runpytest()
    assert_one_line_usage_error(
        result,
        "threshold 'p95 < fast' in ",
        "pyproject.toml, [tool.prodgate.performance.thresholds][0]",
        "'fast' is not a duration. Expected e.g. 500ms or 2s",
    )


def test_malformed_threshold_in_marker_exits_4_when_collected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.performance(thresholds=["p95 < fast"])
        def test_load(gate):
            pass
        """
    )
    result = pytester.runpytest()
    assert_one_line_usage_error(
        result,
        "threshold 'p95 < fast' in @pytest.mark.performance on test_malformed_threshold_in_marker_exits_4_when_collected.py::test_load",
        "'fast' is not a duration",
    )


def test_malformed_threshold_in_marker_errors_the_gate_when_run_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.performance(thresholds=["p95 < fast"])
        def test_load(gate):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*threshold 'p95 < fast' in @pytest.mark.performance on *::test_load*'fast' is not a duration*"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_malformed_threshold_in_a_check_errors_the_test_when_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.performance
        def test_load(gate):
            gate.record("p95", 0.1)
            gate.check("p95 < fast")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at call of test_load*",
            "threshold 'p95 < fast' in test_*.py:6: 'fast' is not a duration. Expected e.g. 500ms or 2s",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ('performance(threshold=["p95 < 1s"])', "unknown argument 'threshold'; expected one of thresholds, severity"),
        ('readiness(severity="soft")', "severity 'soft' is not 'blocking' or 'warning'"),
        ('health("p95 < 1s")', "takes keyword arguments only"),
    ],
)
def test_bad_marker_argument_exits_4_when_collected(pytester: pytest.Pytester, marker: str, expected: str) -> None:
    pytester.makepyfile(f"import pytest\n\n@pytest.mark.{marker}\ndef test_a():\n    pass\n")
    assert_one_line_usage_error(pytester.runpytest(), expected)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[tool.prodgate]\nbaseurl = "x"\n', "[tool.prodgate]: unknown key 'baseurl' (did you mean 'base_url'?)"),
        ("[tool.prodgate]\ndemo = 3\n", "[tool.prodgate.demo] must be true or false, got 3"),
        ('[tool.prodgate]\ntimeout = "soon"\n', "[tool.prodgate.timeout]: 'soon' is not a duration"),
    ],
)
def test_config_mistake_exits_4_naming_key_and_file_when_configured(
    pytester: pytest.Pytester, toml: str, expected: str
) -> None:
    pytester.makepyprojecttoml(toml)
    pytester.makepyfile("def test_a(): pass")
    assert_one_line_usage_error(pytester.runpytest(), "pyproject.toml", expected)


def test_unknown_environment_exits_4_when_chosen(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.prodgate.environments.staging]\n")
    pytester.makepyfile("def test_a(): pass")
    result = pytester.runpytest("--prodgate-env", "prod")
    assert_one_line_usage_error(result, "unknown environment 'prod' (known: staging)")
