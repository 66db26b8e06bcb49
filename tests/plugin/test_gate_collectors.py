"""Declarative health gates and configured readiness checks come from collectors, like any item.

So ``--collect-only``, ``-k``, ``--deselect``, xdist and the JUnit report see them as pytest
sees a test function; a mistake in their section is still a one-line usage error (exit 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest

from tests.health_support import App, json_response, serve

pytest_plugins = ["pytester"]

PYTEST_TABLE = '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'

GATES = """
[tool.prodgate.health]
backoff = "10ms"

[[tool.prodgate.health.endpoints]]
name = "live"
path = "/health/live"
json = ['status == "ok"']

[[tool.prodgate.health.endpoints]]
name = "ready"
path = "/health/ready"

[tool.prodgate.readiness]
checks = ["env"]

[tool.prodgate.readiness.env.required]
PATH = "str"
"""


def _service(path: str, n: int) -> tuple[int, list[tuple[str, str]], bytes]:
    return json_response(200, {"status": "ok"})


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    with serve(App(_service)) as url:
        yield url


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with two declarative endpoints, the env check switched on and one test function."""
    pytester.makefile(".toml", pyproject=PYTEST_TABLE + GATES)
    pytester.makepyfile(test_unit="def test_unit():\n    pass\n")
    return pytester


def test_gates_are_listed_under_their_collectors_when_collect_only(project: pytest.Pytester) -> None:
    result = project.runpytest("--collect-only", "-p", "no:randomly")

    result.stdout.fnmatch_lines(
        [
            "*<Module test_unit.py>",
            "*  <Function test_unit>",
            "*<HealthGates health>",
            "*  <HealthItem live[[]GET /health/live[]]>",
            "*  <HealthItem ready[[]GET /health/ready[]]>",
            "<ReadinessChecks readiness>",
            "  <ReadinessItem readiness::env>",
            "*4 tests collected*",
        ]
    )


def test_gates_keep_their_node_ids_when_collect_only_quiet(project: pytest.Pytester) -> None:
    result = project.runpytest("--collect-only", "-q", "-p", "no:randomly")

    result.stdout.fnmatch_lines(
        [
            "test_unit.py::test_unit",
            "health::live[[]GET /health/live[]]",
            "health::ready[[]GET /health/ready[]]",
            "readiness::env",
            "4 tests collected*",
        ]
    )


def test_only_the_matching_gates_run_when_selected_with_k(project: pytest.Pytester, service: str) -> None:
    result = project.runpytest("--base-url", service, "-k", "live or env", "-v", "-p", "no:randomly")

    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines(["health::live[[]GET /health/live[]] PASSED*", "readiness::env PASSED*"])
    assert "health::ready" not in result.stdout.str()


def test_named_gates_do_not_run_when_deselected(project: pytest.Pytester, service: str) -> None:
    result = project.runpytest(
        "--base-url",
        service,
        "--deselect",
        "health::ready[GET /health/ready]",
        "--deselect",
        "readiness::env",
        "-v",
        "-p",
        "no:randomly",
    )

    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines_random(
        ["test_unit.py::test_unit PASSED*", "health::live[[]GET /health/live[]] PASSED*"]
    )
    assert "readiness::env PASSED" not in result.stdout.str()


def test_family_marker_selects_the_gates_when_given_with_m(project: pytest.Pytester) -> None:
    health = project.runpytest("--collect-only", "-q", "-m", "health")
    readiness = project.runpytest("--collect-only", "-q", "-m", "readiness")

    health.stdout.fnmatch_lines(["health::live*", "health::ready*", "2/4 tests collected (2 deselected)*"])
    readiness.stdout.fnmatch_lines(["readiness::env", "1/4 tests collected (3 deselected)*"])


def test_gates_run_on_workers_and_reach_the_junit_report_when_distributed(
    project: pytest.Pytester, service: str
) -> None:
    junit = project.path / "junit.xml"

    result = project.runpytest_subprocess("--base-url", service, "-n", "2", "-p", "no:randomly", f"--junitxml={junit}")

    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "readiness  readiness::env  * PASS  required 1",
            "health     live[[]GET /health/live[]]  * PASS  latency *",
            "           ready[[]GET /health/ready[]] * PASS  latency *",
        ]
    )
    cases = {(case.get("classname"), case.get("name")) for case in ElementTree.parse(junit).iter("testcase")}
    assert cases == {
        ("test_unit", "test_unit"),
        ("health", "live[GET /health/live]"),
        ("health", "ready[GET /health/ready]"),
        ("readiness", "env"),
    }


def test_gates_are_not_collected_when_a_test_file_is_named(project: pytest.Pytester) -> None:
    result = project.runpytest("test_unit.py", "--collect-only", "-q")

    result.stdout.fnmatch_lines(["test_unit.py::test_unit", "1 test collected*"])
    assert "health::" not in result.stdout.str() and "readiness::" not in result.stdout.str()


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_typo_in_health_entry_exits_4_with_one_line_naming_the_key_when_collecting(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    pytester.makefile(
        ".toml",
        pyproject=PYTEST_TABLE + '[[tool.prodgate.health.endpoints]]\nname = "live"\npath = "/"\nmethd = "GET"\n',
    )
    pytester.makepyfile("def test_nothing():\n    pass\n")

    result = pytester.runpytest_subprocess(*workers, "-p", "no:randomly")

    assert result.ret == 4
    lines = [line for line in result.stderr.lines if line.strip()]
    assert len(lines) == 1, result.stderr.lines
    assert lines[0].startswith("ERROR: ") and "endpoint 'live': unknown key 'methd'" in lines[0], lines[0]
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_missing_readiness_option_exits_4_with_one_line_naming_the_key_when_collecting(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    pytester.makefile(".toml", pyproject=PYTEST_TABLE + '[tool.prodgate.readiness]\nchecks = ["django-deploy"]\n')
    pytester.makepyfile("def test_nothing():\n    pass\n")

    result = pytester.runpytest_subprocess(*workers, "-p", "no:randomly")

    assert result.ret == 4
    lines = [line for line in result.stderr.lines if line.strip()]
    assert len(lines) == 1, result.stderr.lines
    assert lines[0] == (
        "ERROR: [tool.prodgate.readiness.django] settings is required by 'django-deploy' (e.g. 'mysite.settings')"
    )


def test_health_table_is_not_loaded_when_the_run_is_outside_collect_in(pytester: pytest.Pytester) -> None:
    # Only a run that collects the gates needs their table (and the probe engine): unit tests run as usual.
    pytester.makefile(
        ".toml",
        pyproject=PYTEST_TABLE
        + '[tool.prodgate.health]\ncollect_in = "gates"\n'
        + '[[tool.prodgate.health.endpoints]]\nname = "live"\npath = "/"\nmethd = "GET"\n',
    )
    pytester.mkdir("gates")
    pytester.mkdir("tests").joinpath("test_unit.py").write_text("def test_unit():\n    pass\n")

    outside = pytester.runpytest("tests", "-p", "no:randomly")
    inside = pytester.runpytest_subprocess("gates", "-p", "no:randomly")

    outside.assert_outcomes(passed=1)
    assert inside.ret == 4
    inside.stderr.fnmatch_lines(["ERROR: *endpoint 'live': unknown key 'methd'*"])
