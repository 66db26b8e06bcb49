"""The README carries exactly the two set-up commands, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands() -> list[str]:
    return re.findall(r"^    (python3 -m venv .*)$", (ROOT / "README.md").read_text(), re.M)


def test_readme_has_the_run_and_the_test_command_when_read() -> None:
    found = commands()
    assert len(found) == 2, found
    run, test = found
    assert "pip install -e" in run and "pytest gates" in run and "--html=report.html" in run
    assert "pip install -e '.[test]'" in test and "pytest tests" in test
    assert test.endswith("pytest tests -n 2")  # in two processes, as CI runs it


def test_ci_calls_the_readme_test_command_when_run() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert """TEST_COMMAND=$(grep -F "pip install -e '.[test]'" README.md""" in script
    assert 'bash -c "set -e; $TEST_COMMAND"' in script
    # The optional contention job stops its busy loops however the run ends.
    assert "PRODGATE_CI_CONTENTION" in script and "trap stop_hogs EXIT" in script
    readme = (ROOT / "README.md").read_text()
    assert readme.count("pip install -e '.[test]'") == 1
