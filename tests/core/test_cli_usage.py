"""Command-line mistakes in every ``prodgate`` subcommand: exit 4 and one line naming the option, as a real subprocess.

A URL on port 9 (discard) is never contacted: each mistake stops the command before anything runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

URL = "http://127.0.0.1:9/"


def prodgate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", *args],
        cwd=cwd,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_usage_error(done: subprocess.CompletedProcess[str], prog: str, *named: str) -> str:
    """Exit 4, nothing on stdout, one line on stderr from ``prog`` that holds each of ``named``."""
    assert done.returncode == 4, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for text in named:
        assert text in lines[0], lines[0]
    return lines[0]


# (the command's words, the prog that reports) for every subcommand
COMMANDS = [
    (["demo"], "prodgate demo"),
    (["readiness"], "prodgate readiness"),
    (["data", "rules.toml"], "prodgate data"),
    (["load", URL], "prodgate load"),
    (["health", "probe", URL], "prodgate health probe"),
    (["health", "wait", URL], "prodgate health wait"),
    (["health", "tls", "localhost:9"], "prodgate health tls"),
    (["health", "headers", URL], "prodgate health headers"),
    (["deploy"], "prodgate deploy"),
    (["history"], "prodgate history"),
]
IDS = [" ".join(words[:2]) if words[0] == "health" else words[0] for words, _ in COMMANDS]


@pytest.mark.parametrize(("words", "prog"), COMMANDS, ids=IDS)
def test_exit_is_4_with_one_line_naming_it_when_an_option_is_unknown(words: list[str], prog: str) -> None:
    assert_usage_error(prodgate(*words, "--frobnicate"), prog, "unrecognized arguments: --frobnicate")


# (the command's words, an option given without its value, the prog that reports)
MISSING = [
    (["demo"], "--port", "prodgate demo"),
    (["readiness"], "--config", "prodgate readiness"),
    (["data", "rules.toml"], "--db", "prodgate data"),
    (["load", URL], "--duration", "prodgate load"),
    (["health", "probe", URL], "--timeout", "prodgate health probe"),
    (["health", "wait", URL], "--interval", "prodgate health wait"),
    (["health", "tls", "localhost:9"], "--server-name", "prodgate health tls"),
    (["health", "headers", URL], "--waive", "prodgate health headers"),
    (["deploy"], "--run", "prodgate deploy"),
    (["history"], "--limit", "prodgate history"),
]


@pytest.mark.parametrize(("words", "option", "prog"), MISSING, ids=IDS)
def test_exit_is_4_with_one_line_naming_the_option_when_its_value_is_missing(
    words: list[str], option: str, prog: str
) -> None:
    assert_usage_error(prodgate(*words, option), prog, option, "expected one argument")


def test_exit_is_4_naming_the_option_when_its_value_is_missing_before_another_option() -> None:
    assert_usage_error(prodgate("load", URL, "--duration", "--quiet"), "prodgate load", "--duration")


# (the words with a value of the wrong type or not one of the choices, the prog, what the line names)
BAD_VALUES = [
    (["demo", "--port", "eighty"], "prodgate demo", ["--port", "'eighty'"]),
    (["data", "rules.toml", "--sample-size", "some"], "prodgate data", ["--sample-size", "'some'"]),
    (["load", URL, "--users", "many"], "prodgate load", ["--users", "'many'"]),
    (["load", URL, "--duration", "soon"], "prodgate load", ["--duration", "'soon'", "is not a duration"]),
    (["health", "probe", URL, "--retries", "few"], "prodgate health probe", ["--retries", "'few'"]),
    (["health", "frobnicate"], "prodgate health", ["CHECK", "invalid choice: 'frobnicate'"]),
    (["deploy", "--wait", "long"], "prodgate deploy", ["--wait", "'long'"]),
    (["history", "--limit", "all"], "prodgate history", ["--limit", "'all'"]),
    (["frobnicate"], "prodgate", ["COMMAND", "invalid choice: 'frobnicate'"]),
]


@pytest.mark.parametrize(("words", "prog", "named"), BAD_VALUES, ids=[" ".join(w[:3]) for w, _, _ in BAD_VALUES])
def test_exit_is_4_with_one_line_naming_the_option_and_value_when_a_value_is_wrong(
    words: list[str], prog: str, named: list[str]
) -> None:
    assert_usage_error(prodgate(*words), prog, *named)


@pytest.mark.parametrize("words", [["--duration", "-5s"], ["-d", "-5s"], ["--dur", "-5s"], ["--duration=-5s"]])
def test_exit_is_4_saying_a_duration_must_be_positive_when_the_duration_is_negative(words: list[str]) -> None:
    line = assert_usage_error(prodgate("load", URL, *words), "prodgate load")
    assert line == "prodgate load: error: --duration '-5s': a duration must be positive"


def test_exit_is_4_naming_the_option_and_value_when_the_users_are_negative() -> None:
    line = assert_usage_error(prodgate("load", URL, "--users", "-3"), "prodgate load")
    assert line == "prodgate load: error: --users '-3': must be at least 1"


def test_exit_is_4_naming_the_option_when_a_timeout_is_negative() -> None:
    line = assert_usage_error(prodgate("load", URL, "--timeout", "-1s", "-n", "1"), "prodgate load")
    assert line == "prodgate load: error: --timeout '-1s': a duration must be positive"


# (the words with a value that parses but is out of range, the prog, the line's text after "error: ")
OUT_OF_RANGE = [
    (["demo", "--port", "-1"], "prodgate demo", "--port '-1': must be 0 or more"),
    (["demo", "--port", "70000"], "prodgate demo", "--port '70000': a port is at most 65535"),
    (["data", "rules.toml", "--timeout", "-5s"], "prodgate data", "--timeout '-5s': a duration must be positive"),
    (["data", "rules.toml", "--sample-size", "-3"], "prodgate data", "--sample-size '-3': must be 0 or more"),
    (["load", URL, "--ramp-up", "-1s"], "prodgate load", "--ramp-up '-1s': a duration must not be negative"),
    (["health", "probe", URL, "--retries", "-1"], "prodgate health probe", "--retries '-1': must be 0 or more"),
    (
        ["health", "wait", URL, "--interval", "0s"],
        "prodgate health wait",
        "--interval '0s': a duration must be positive",
    ),
    (
        ["health", "tls", "localhost:9", "--timeout", "-1s"],
        "prodgate health tls",
        "--timeout '-1s': a duration must be positive",
    ),
    (
        ["health", "headers", URL, "--hsts-min-age", "-1d"],
        "prodgate health headers",
        "--hsts-min-age '-1d': a duration must be positive",
    ),
]


@pytest.mark.parametrize(("words", "prog", "reason"), OUT_OF_RANGE, ids=[" ".join(w[:4]) for w, _, _ in OUT_OF_RANGE])
def test_exit_is_4_with_one_line_naming_the_option_and_value_when_a_value_is_out_of_range(
    words: list[str], prog: str, reason: str
) -> None:
    assert assert_usage_error(prodgate(*words), prog) == f"{prog}: error: {reason}"


def test_demo_module_exits_4_with_one_line_naming_the_option_when_a_value_is_wrong() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_prodgate.demo", "--port", "-1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = assert_usage_error(done, "python -m pytest_prodgate.demo")
    assert line == "python -m pytest_prodgate.demo: error: --port '-1': must be 0 or more"


def test_exit_is_4_with_one_line_when_a_required_argument_is_missing() -> None:
    assert_usage_error(prodgate("health", "probe"), "prodgate health probe", "required: url")
    assert_usage_error(prodgate("health"), "prodgate health", "required: CHECK")


@pytest.mark.parametrize("words", [["--help"], ["load", "--help"], ["health", "probe", "--help"], ["--version"]])
def test_exit_is_0_with_the_help_when_it_is_asked_for(words: list[str]) -> None:
    done = prodgate(*words)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("prodgate") if words == ["--version"] else "usage: prodgate" in done.stdout


def test_exit_is_4_with_the_help_when_no_command_is_given() -> None:
    done = prodgate()
    assert done.returncode == 4 and done.stderr == ""
    assert done.stdout.startswith("usage: prodgate")
