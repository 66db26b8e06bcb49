"""The prodgate fixture: merged settings for the chosen environment and the base URL."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PYPROJECT = """
[tool.prodgate]
base_url = "http://127.0.0.1:9"
[tool.prodgate.performance]
thresholds = ["p95 < 500ms"]
[tool.prodgate.environments.production]
base_url = "https://shop.example"
[tool.prodgate.environments.production.performance]
thresholds = ["p95 < 300ms"]
"""

SHOW = """
def test_show(prodgate, base_url):
    print("ENV", prodgate.environment)
    print("BASE", prodgate.base_url, base_url)
    print("PERF", prodgate.section("performance")["thresholds"])
"""


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), None, ["*ENV None", "BASE http://127.0.0.1:9 http://127.0.0.1:9", "PERF ['p95 < 500ms']"]),
        (
            ("--prodgate-env", "production"),
            None,
            ["*ENV production", "BASE https://shop.example https://shop.example", "PERF ['p95 < 300ms']"],
        ),
        ((), "production", ["*ENV production", "BASE https://shop.example*", "PERF ['p95 < 300ms']"]),
        (
            ("--base-url", "http://127.0.0.1:7"),
            None,
            ["*ENV None", "BASE http://127.0.0.1:7 http://127.0.0.1:7", "PERF*"],
        ),
    ],
)
def test_prodgate_fixture_exposes_merged_settings_when_an_environment_is_chosen(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: str | None,
    expected: list[str],
) -> None:
    if env:
        monkeypatch.setenv("PRODGATE_ENV", env)
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(SHOW)
    result = pytester.runpytest("-s", *args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(expected)


def test_family_config_thresholds_apply_when_the_marker_gives_none(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.prodgate.performance]\nthresholds = ["p95 < 500ms"]\n')
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.performance
        def test_slow(gate):
            gate.record("p95", 0.7)

        @pytest.mark.performance
        def test_no_figures():
            pass

        @pytest.mark.performance(thresholds=["p95 < 1s"])
        def test_own(gate):
            gate.record("p95", 0.7)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["p95 = 700 ms, wanted < 500 ms", "*test_slow*FAIL*p95 700 ms, wanted < 500 ms"])


def test_report_header_names_the_environment_when_chosen(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.prodgate.environments.staging]\n")
    pytester.makepyfile("def test_a(): pass")
    result = pytester.runpytest("--prodgate-env", "staging")
    result.stdout.fnmatch_lines(["prodgate: environment staging*"])
