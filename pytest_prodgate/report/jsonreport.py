"""The versioned JSON gate report (``--prodgate-json PATH``): what ``prodgate deploy`` and other tools read.

Shape (documented in ``docs/json-report.md``, checked by ``gate-report.schema.json`` beside this module)::

    {"schema": "pytest-prodgate/gate-report", "version": 3,
     "run": {"environment", "base_url", "git_commit", "started", "duration", "pytest_version",
             "plugin_version", "python_version", "exit_status", "argv"},
     "summary": {"total", "fail", "error", "skip", "warning", "pass", "blocking_failures", "passed", "reason"},
     "gates": [gate entries]}

Version 3 added each gate's ``baseline`` (the baseline gate matched and, per figure, the baseline value,
delta and change) and each threshold's ``baseline`` value; versions 1 and 2 are still read.

Everything is passed through a ``Redactor`` before it is written, and written atomically
(a temporary file in the same directory, then ``os.replace``), so a reader never sees half a report.
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from pytest_prodgate import __version__
from pytest_prodgate.errors import ProdgateError
from pytest_prodgate.redact import Redactor, mask_url
from pytest_prodgate.vcs import git_commit
from pytest_prodgate.verdict import SCHEMA_NAME, SCHEMA_VERSION, GateEntry, summarize

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

READABLE_VERSIONS = (1, 2, SCHEMA_VERSION)


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the gate report, shipped in the package."""
    text = resources.files("pytest_prodgate.report").joinpath("gate-report.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


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


def passes_gates(report: Mapping[str, Any]) -> bool:
    """Whether a gate report lets a deploy go ahead (``summary.passed``, decided by ``verdict.decide_run``)."""
    summary = report.get("summary", {})
    if "passed" in summary:
        return summary["passed"] is True
    return int(summary.get("blocking_failures", 1)) == 0 and int(summary.get("total", 0)) > 0  # version 1


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such figures become ``null``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def gate_record(entry: GateEntry) -> dict[str, Any]:
    """One gate of the report, in a stable key order, with every key present."""
    record: dict[str, Any] = _finite(entry.to_dict())
    return record


def build_report(
    entries: Iterable[GateEntry], run: Mapping[str, Any], redactor: Redactor | None = None
) -> dict[str, Any]:
    """The whole report as a JSON-ready dict, secrets masked."""
    entries = list(entries)
    report = {
        "schema": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "run": dict(run),
        "summary": summarize(entries),
        "gates": [gate_record(entry) for entry in entries],
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
    if data.get("version") not in READABLE_VERSIONS:
        raise ProdgateError(
            f"{path}: gate report version {data.get('version')!r}; this prodgate reads versions "
            + ", ".join(str(v) for v in READABLE_VERSIONS)
        )
    return data
