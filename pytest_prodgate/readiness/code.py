"""Dependencies and code: known vulnerabilities (pip-audit), lint (ruff), test coverage (coverage data).

pip-audit and ruff run as real subprocesses of the current interpreter; coverage is read with
the coverage API from a data file. A tool that cannot run, or an advisory service that cannot be
reached, is an *error* verdict with the reason, never a pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_prodgate.readiness.result import Finding, ReadinessResult, build_result
from pytest_prodgate.redact import Redactor

__all__ = ["check_audit", "check_coverage", "check_lint", "parse_audit_report"]

_TAIL = 1  # lines of a failing tool's stderr worth quoting (the last one names the cause)


def _last_lines(text: str, count: int = _TAIL) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip() and not line.startswith("WARNING:")]
    return " | ".join(lines[-count:]) if lines else "(no output)"


def parse_audit_report(report: Mapping[str, Any]) -> tuple[list[Finding], list[str], int]:
    """From pip-audit's ``--format json`` report: one finding per advisory, the packages it could not
    audit (name and reason), and how many it audited."""
    findings: list[Finding] = []
    skipped: list[str] = []
    audited = 0
    for dependency in report.get("dependencies", []):
        name = dependency.get("name", "?")
        if "skip_reason" in dependency:
            skipped.append(f"{name}: {dependency['skip_reason']}")
            continue
        audited += 1
        for vuln in dependency.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            aliases = ", ".join(vuln.get("aliases") or [])
            also = f" ({aliases})" if aliases else ""
            findings.append(
                Finding(
                    str(vuln.get("id", "advisory")), f"{name} {dependency.get('version', '?')}{also}: fixed in {fixes}"
                )
            )
    return findings, skipped, audited


def check_audit(
    *,
    requirements: str | None = None,
    timeout: float = 60.0,
    service: str = "pypi",
    allow_skipped: bool = False,
    cache_dir: str | None = None,
    waivers: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> ReadinessResult:
    """Run pip-audit on the installed environment or a requirements file; each advisory is a finding.

    Advisories are waived by id (``PYSEC-2023-74 = "reason"``). Packages pip-audit could not audit
    make the verdict ``error`` unless ``allow_skipped``. Figures: ``vulnerabilities``, ``audited``, ``skipped``.
    """
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off"]
    command += ["--vulnerability-service", service, "--timeout", str(max(1, int(timeout)))]
    if requirements:
        # Pinned requirements audited as written: no resolver run through pip, no install.
        command += ["--requirement", requirements, "--no-deps", "--disable-pip"]
    else:
        # The project itself is usually installed editable and is on no index: not an advisory gap.
        command += ["--skip-editable"]
    if cache_dir:
        command += ["--cache-dir", cache_dir]
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout * 4 + 30,
            env=dict(env) if env is not None else None,
        )
    except FileNotFoundError as exc:
        return build_result("audit", [], error=f"cannot run pip-audit: {exc}")
    except subprocess.TimeoutExpired:
        return build_result("audit", [], error=f"pip-audit did not finish within {timeout * 4 + 30:g} s")
    redactor = Redactor()
    if "No module named pip_audit" in completed.stderr:
        return build_result("audit", [], error="pip-audit is not installed: pip install 'pytest-prodgate[audit]'")
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        reason = _last_lines(completed.stderr)
        lowered = reason.lower()
        if any(word in lowered for word in ("connection", "timed out", "timeout", "proxy", "resolve", "unreachable")):
            reason = f"the advisory service ({service}) could not be reached: {reason}"
        else:
            reason = f"pip-audit failed (exit {completed.returncode}): {reason}"
        return build_result("audit", [], error=reason, redactor=redactor)
    findings, skipped, audited = parse_audit_report(report)
    figures = {"vulnerabilities": float(len(findings)), "audited": float(audited), "skipped": float(len(skipped))}
    error = None
    if skipped and not allow_skipped:
        shown = "; ".join(skipped[:5]) + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        error = f"{len(skipped)} package(s) could not be audited, so this is no pass: {shown}"
    target = requirements or "the installed environment"
    summary = f"{audited} package(s) of {target} audited, no known vulnerability"
    return build_result("audit", findings, figures, waivers=waivers, summary=summary, error=error, redactor=redactor)


def check_lint(
    paths: Sequence[str] = (".",),
    *,
    cwd: str | None = None,
    config: str | None = None,
    timeout: float = 120.0,
    waivers: Mapping[str, str] | None = None,
    max_findings: int = 50,
) -> ReadinessResult:
    """``ruff check`` is clean; each diagnostic is a finding ``ruff.<code>`` with its file and line."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        return build_result("lint", [], error="ruff is not installed: pip install 'pytest-prodgate[lint]'")
    command = [ruff, "check", "--output-format", "json", "--no-fix", "--quiet"]
    if config:
        command += ["--config", config]
    command += list(paths)
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        return build_result("lint", [], error=f"ruff did not finish within {timeout:g} s")
    if completed.returncode not in (0, 1):
        return build_result(
            "lint", [], error=f"ruff failed (exit {completed.returncode}): {_last_lines(completed.stderr)}"
        )
    try:
        diagnostics = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError:
        return build_result("lint", [], error=f"ruff gave no JSON report: {_last_lines(completed.stdout)}")
    base = Path(cwd or ".").resolve()
    findings = []
    for item in diagnostics:
        filename = Path(item.get("filename", "?"))
        try:
            filename = filename.resolve().relative_to(base)
        except ValueError:
            pass
        row = (item.get("location") or {}).get("row", "?")
        code = item.get("code") or "syntax"
        findings.append(Finding(f"ruff.{code}", f"{filename}:{row}: {item.get('message', '')}"))
    figures = {"violations": float(len(findings))}
    kept = findings[:max_findings]
    if len(findings) > max_findings:
        kept.append(Finding("ruff.more", f"and {len(findings) - max_findings} more diagnostic(s)"))
    summary = f"ruff check clean on {', '.join(paths)}"
    return build_result("lint", kept, figures, waivers=waivers, summary=summary)


def check_coverage(
    data_file: str = ".coverage",
    *,
    thresholds: Sequence[str] = ("coverage >= 85%",),
    include: Sequence[str] | None = None,
    omit: Sequence[str] | None = None,
    waivers: Mapping[str, str] | None = None,
) -> ReadinessResult:
    """Total line coverage from a coverage data file (the coverage API), judged by ``coverage >= 85%``.

    Figures: ``coverage`` (fraction), ``statements``, ``missing``, ``files``.
    """
    try:
        import coverage
    except ImportError:
        return build_result("coverage", [], error="coverage is not installed: pip install coverage")
    path = Path(data_file)
    if not path.is_file():
        return build_result("coverage", [], error=f"no coverage data file at {path} (run: coverage run -m pytest)")
    cov = coverage.Coverage(
        data_file=str(path),
        include=list(include) if include else None,
        omit=list(omit) if omit else None,
        config_file=False,
    )
    cov.load()
    statements = missing = files = 0
    try:
        for measured in sorted(cov.get_data().measured_files()):
            try:
                _name, executable, _excluded, missed, _text = cov.analysis2(measured)
            except coverage.CoverageException:
                continue  # a file that no longer exists or is not Python
            statements += len(executable)
            missing += len(missed)
            files += 1
    except coverage.CoverageException as exc:
        return build_result("coverage", [], error=f"cannot read {path}: {exc}")
    if statements == 0:
        return build_result("coverage", [], error=f"{path} holds no measured statements")
    fraction = (statements - missing) / statements
    figures = {"coverage": fraction, "statements": float(statements), "missing": float(missing), "files": float(files)}
    summary = f"{fraction * 100:.1f}% of {statements} statements in {files} file(s)"
    return build_result("coverage", [], figures, thresholds=thresholds, waivers=waivers, summary=summary)
