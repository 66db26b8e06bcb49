"""The versioned JSON gate report (``--prodgate-json PATH``): what ``prodgate deploy`` and other tools read.

Shape (documented in ``docs/json-report.md``, checked by ``gate-report.schema.json`` beside this module)::

    {"schema": "pytest-prodgate/gate-report", "version": 1,
     "run": {"environment", "base_url", "git_commit", "started", "duration", "pytest_version",
             "plugin_version", "python_version", "exit_status", "argv"},
     "summary": {"total", "pass", "fail", "warning", "error", "blocking_failures"},
     "gates": [gate entries]}

Everything is passed through a ``Redactor`` before it is written, and written atomically
(a temporary file in the same directory, then ``os.replace``), so a reader never sees half a report.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from pytest_prodgate import __version__
from pytest_prodgate.errors import ProdgateError
from pytest_prodgate.redact import Redactor, mask_url

__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "build_report",
    "git_commit",
    "load_schema",
    "passes_gates",
    "read_report",
    "run_metadata",
    "summarize",
    "write_atomically",
    "write_report",
]

SCHEMA_NAME = "pytest-prodgate/gate-report"
SCHEMA_VERSION = 1
VERDICTS = ("pass", "fail", "warning", "error")
FAILING = ("fail", "error")


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the gate report, shipped in the package."""
    text = resources.files("pytest_prodgate.report").joinpath("gate-report.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def git_commit(cwd: str | Path | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """The commit under test: ``GITHUB_SHA``/``CI_COMMIT_SHA`` when a CI sets them, else ``git rev-parse HEAD``."""
    env = os.environ if env is None else env
    for name in ("PRODGATE_GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA"):
        if env.get(name):
            return env[name]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def run_metadata(
    *,
    started: float,
    finished: float,
    exit_status: int,
    environment: str | None = None,
    base_url: str | None = None,
    argv: Sequence[str] = (),
    pytest_version: str | None = None,
    commit: str | None = None,
) -> dict[str, Any]:
    """The ``run`` object: where and when the gates ran, with which versions."""
    return {
        "environment": environment,
        "base_url": mask_url(base_url) if base_url else None,
        "git_commit": commit,
        "started": datetime.fromtimestamp(started, tz=timezone.utc)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z"),
        "duration": round(max(finished - started, 0.0), 3),
        "pytest_version": pytest_version,
        "plugin_version": __version__,
        "python_version": platform.python_version(),
        "exit_status": int(exit_status),
        "argv": [str(arg) for arg in argv],
    }


def is_blocking_failure(entry: Mapping[str, Any]) -> bool:
    return entry.get("verdict") in FAILING and entry.get("severity", "blocking") == "blocking"


def summarize(entries: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Counts per verdict and the number of blocking failures (a run passes when that is 0)."""
    summary = {"total": 0, **{verdict: 0 for verdict in VERDICTS}, "blocking_failures": 0}
    for entry in entries:
        summary["total"] += 1
        verdict = entry.get("verdict")
        if verdict in VERDICTS:
            summary[str(verdict)] += 1
        if is_blocking_failure(entry):
            summary["blocking_failures"] += 1
    return summary


def passes_gates(report: Mapping[str, Any]) -> bool:
    """Whether a gate report lets a deploy go ahead: no blocking failures."""
    return int(report.get("summary", {}).get("blocking_failures", 1)) == 0


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such figures become ``null``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def gate_record(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One gate of the report, in a stable key order, with every key present."""
    return {
        "nodeid": entry.get("nodeid", ""),
        "name": entry.get("name", ""),
        "family": entry.get("family"),
        "severity": entry.get("severity", "blocking"),
        "verdict": entry.get("verdict", "error"),
        "decided_by": entry.get("decided_by", "") or "",
        "figures": _finite(dict(entry.get("figures") or {})),
        "thresholds": _finite(list(entry.get("thresholds") or [])),
        "message": entry.get("message", "") or "",
        "duration": _finite(float(entry.get("duration") or 0.0)),
        "details": _finite(dict(entry.get("details") or {})),
    }


def build_report(
    entries: Iterable[Mapping[str, Any]], run: Mapping[str, Any], redactor: Redactor | None = None
) -> dict[str, Any]:
    """The whole report as a JSON-ready dict, secrets masked."""
    gates = [gate_record(entry) for entry in entries]
    report = {
        "schema": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "run": dict(run),
        "summary": summarize(gates),
        "gates": gates,
    }
    redacted: dict[str, Any] = (redactor or Redactor()).data(report)
    return redacted


def write_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``; create parent directories."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a report is as readable as any output file
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_report(path: str | Path, report: Mapping[str, Any]) -> Path:
    return write_atomically(path, json.dumps(report, indent=2, allow_nan=False) + "\n")


def read_report(path: str | Path) -> dict[str, Any]:
    """Read a gate report, checking it is one and of a version this code understands."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProdgateError(f"{path}: no gate report there; run pytest with --prodgate-json {path}") from None
    except json.JSONDecodeError as exc:
        raise ProdgateError(f"{path}: not a JSON gate report ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_NAME:
        raise ProdgateError(f'{path}: not a pytest-prodgate gate report (no "schema": "{SCHEMA_NAME}")')
    if data.get("version") != SCHEMA_VERSION:
        raise ProdgateError(
            f"{path}: gate report version {data.get('version')!r}; this prodgate reads version {SCHEMA_VERSION}"
        )
    return data
