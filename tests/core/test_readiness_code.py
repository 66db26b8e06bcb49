"""Dependencies and code: real pip-audit runs, real ruff runs, real coverage data files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_prodgate.readiness.code import check_audit, check_coverage, check_lint, parse_audit_report
from pytest_prodgate.thresholds import Verdict


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- pip-audit ---------------------------------------------------------------------------------


def test_audit_errors_instead_of_passing_when_advisory_service_is_unreachable(tmp_path: Path) -> None:
    pytest.importorskip("pip_audit")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.19.0\n")
    # Every request of pip-audit goes through a proxy on a closed port of 127.0.0.1: unreachable for real.
    proxy = f"http://127.0.0.1:{closed_port()}"
    env = {**os.environ, "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": ""}

    result = check_audit(requirements=str(requirements), timeout=3, cache_dir=str(tmp_path / "cache"), env=env)

    assert result.verdict is Verdict.ERROR
    assert result.message().startswith("could not run: the advisory service (pypi) could not be reached:")
    assert "Connection refused" in result.message()
    assert "problems" not in result.figures  # nothing was judged


def test_audit_never_passes_when_requirements_pin_a_vulnerable_release(tmp_path: Path) -> None:
    """requests 2.19.0 has known advisories. Where PyPI's JSON API answers they are findings; where it
    does not (this sandbox only mirrors the package index) the packages are unaudited: an error."""
    pytest.importorskip("pip_audit")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.19.0\n")

    result = check_audit(requirements=str(requirements), timeout=10, cache_dir=str(tmp_path / "cache"))

    assert result.verdict in (Verdict.FAIL, Verdict.ERROR), result.message()
    if result.verdict is Verdict.FAIL:
        assert all(f.message.startswith("requests 2.19.0") for f in result.findings)
    else:
        assert "could not be audited, so this is no pass: requests" in result.message()


def _report_from_pip_audit() -> dict[str, object]:
    """A report written by pip-audit's own JSON formatter from its own result objects."""
    from packaging.version import Version
    from pip_audit._format.json import JsonFormat
    from pip_audit._service.interface import ResolvedDependency, SkippedDependency, VulnerabilityResult

    vulnerable = ResolvedDependency(name="requests", version=Version("2.19.0"))
    clean = ResolvedDependency(name="idna", version=Version("3.7"))
    skipped = SkippedDependency(name="private-lib", skip_reason="Dependency not found on PyPI")
    advisories = [
        VulnerabilityResult(
            id="PYSEC-2018-28",
            description="Authorization header leak",
            fix_versions=[Version("2.20.0")],
            aliases={"CVE-2018-18074"},
        ),
        VulnerabilityResult(
            id="GHSA-j8r2-6x86-q33q",
            description="Proxy-Authorization leak",
            fix_versions=[Version("2.31.0")],
            aliases=set(),
        ),
    ]
    text = JsonFormat(output_desc=True, output_aliases=True).format(
        {vulnerable: advisories, clean: [], skipped: []}, []
    )
    return dict(json.loads(text))


def test_audit_report_lists_each_advisory_with_fix_when_pip_audit_found_some() -> None:
    pytest.importorskip("pip_audit")

    findings, skipped, audited = parse_audit_report(_report_from_pip_audit())

    assert [f.line() for f in findings] == [
        "[PYSEC-2018-28] requests 2.19.0 (CVE-2018-18074): fixed in 2.20.0",
        "[GHSA-j8r2-6x86-q33q] requests 2.19.0: fixed in 2.31.0",
    ]
    assert skipped == ["private-lib: Dependency not found on PyPI"]
    assert audited == 2


def test_audit_report_parses_a_report_written_by_the_pip_audit_command(tmp_path: Path) -> None:
    pytest.importorskip("pip_audit")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("idna==3.7\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "-r",
            str(requirements),
            "--no-deps",
            "--disable-pip",
            "--format",
            "json",
            "--progress-spinner",
            "off",
            "--timeout",
            "10",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout)

    findings, skipped, audited = parse_audit_report(report)

    assert audited + len(skipped) == 1
    assert all(line.startswith("idna: ") for line in skipped)
    assert all(f.message.startswith("idna 3.7") for f in findings)


# --- ruff ----------------------------------------------------------------------------------------


def test_lint_passes_when_ruff_finds_nothing(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("def answer() -> int:\n    return 42\n")

    result = check_lint(["clean.py"], cwd=str(tmp_path))

    assert result.verdict is Verdict.PASS, result.message()
    assert result.figures["violations"] == 0


def test_lint_names_file_line_and_rule_when_ruff_finds_problems(tmp_path: Path) -> None:
    (tmp_path / "dirty.py").write_text("import os\nimport sys\n\n\ndef answer():\n    return undefined_name\n")

    result = check_lint(["dirty.py"], cwd=str(tmp_path))

    assert result.verdict is Verdict.FAIL
    assert [f.line() for f in result.findings] == [
        "[ruff.F401] dirty.py:1: `os` imported but unused",
        "[ruff.F401] dirty.py:2: `sys` imported but unused",
        "[ruff.F821] dirty.py:6: Undefined name `undefined_name`",
    ]
    assert result.figures["violations"] == 3


def test_lint_errors_when_ruff_cannot_read_its_config(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("x = 1\n")
    (tmp_path / "ruff.toml").write_text("[lint\nselect = ")

    result = check_lint(["clean.py"], cwd=str(tmp_path), config=str(tmp_path / "ruff.toml"))

    assert result.verdict is Verdict.ERROR
    assert result.message().startswith("could not run: ruff failed (exit 2)")


# --- coverage ------------------------------------------------------------------------------------

MODULE = """
def used(x):
    if x > 0:
        return x
    return -x


def unused(x):
    total = 0
    for i in range(x):
        total += i
    return total
"""


def _measure(tmp_path: Path, calls: str) -> Path:
    """A real .coverage data file from ``coverage run`` over a small module."""
    (tmp_path / "shop.py").write_text(MODULE)
    (tmp_path / "main.py").write_text(f"import shop\n{calls}\n")
    data_file = tmp_path / ".coverage"
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", f"--data-file={data_file}", "--include=shop.py", "main.py"],
        cwd=tmp_path,
        check=True,
        timeout=60,
        capture_output=True,
    )
    return data_file


def test_coverage_passes_when_total_is_above_threshold(tmp_path: Path) -> None:
    pytest.importorskip("coverage")
    data_file = _measure(tmp_path, "shop.used(1); shop.used(-1); shop.unused(3)")

    result = check_coverage(str(data_file), thresholds=["coverage >= 85%"])

    assert result.verdict is Verdict.PASS, result.message()
    assert result.figures["coverage"] == 1.0
    assert result.figures["statements"] == 9


def test_coverage_fails_with_measured_against_wanted_when_total_is_below_threshold(tmp_path: Path) -> None:
    pytest.importorskip("coverage")
    data_file = _measure(tmp_path, "shop.used(1)")

    result = check_coverage(str(data_file), thresholds=["coverage >= 85%"])

    assert result.verdict is Verdict.FAIL
    assert [f.line() for f in result.findings] == ["[threshold.coverage] coverage = 44.4 %, wanted >= 85 %"]
    assert result.figures["missing"] == 5


def test_coverage_errors_when_data_file_is_missing(tmp_path: Path) -> None:
    result = check_coverage(str(tmp_path / ".coverage"))

    assert result.verdict is Verdict.ERROR
    assert "no coverage data file at" in result.message()
