"""Django readiness (the ``django`` extra): settings audit, ``check --deploy``, migrations, static
files, databases and caches, logging.

Why a subprocess: Django configures its settings once per process, from one settings module, and
a test run may already have Django set up with *test* settings (pytest-django). So the checks run
in ``python -m pytest_prodgate.readiness.django_probe`` with ``DJANGO_SETTINGS_MODULE`` set to the
settings under audit, in the project directory, and answer in JSON. The parent never imports
Django, so auditing ``settings.production`` cannot disturb the tests, nor the tests the audit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.readiness.result import Finding, ReadinessResult, build_result
from pytest_prodgate.redact import Redactor
from pytest_prodgate.thresholds import parse_duration

__all__ = ["DJANGO_CHECKS", "check_django", "run_django_probe"]

# Gate name (``readiness::django-deploy``) -> probe part.
DJANGO_CHECKS = {
    "django-settings": "settings",
    "django-deploy": "deploy",
    "django-migrations": "migrations",
    "django-static": "static",
    "django-services": "services",
    "django-logging": "logging",
}
PROBE_OPTIONS = (
    "hsts_min_seconds",
    "behind_proxy",
    "database",
    "error_reporting",
    "require_error_reporting",
    "timeout",
)


def run_django_probe(
    settings_module: str,
    parts: Iterable[str],
    *,
    project_dir: str | None = None,
    python: str | None = None,
    options: Mapping[str, Any] | None = None,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run the probe in a subprocess and return its JSON document (``{"error": ...}`` when it cannot)."""
    if not settings_module:
        raise ConfigError("[tool.prodgate.readiness.django] settings is required (e.g. 'mysite.settings')")
    child_env = dict(os.environ if env is None else env)
    child_env["DJANGO_SETTINGS_MODULE"] = settings_module
    cwd = project_dir or os.getcwd()
    # The project directory first, so ``mysite.settings`` imports as ``manage.py`` would import it.
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (cwd, child_env.get("PYTHONPATH", "")) if p)
    wanted = {key: value for key, value in (options or {}).items() if key in PROBE_OPTIONS}
    if "timeout" in wanted:
        wanted["timeout"] = parse_duration(wanted["timeout"])
    command = [
        python or sys.executable,
        "-m",
        "pytest_prodgate.readiness.django_probe",
        "--parts",
        ",".join(parts),
        "--options",
        json.dumps(wanted),
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=child_env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"the Django probe did not finish within {timeout:g} s"}
    except OSError as exc:
        return {"error": f"cannot start {command[0]}: {exc}"}
    lines = [line for line in completed.stdout.strip().splitlines() if line.startswith("{")]
    if not lines:
        tail = [line for line in completed.stderr.strip().splitlines() if line.strip()]
        reason = tail[-1].strip() if tail else f"exit status {completed.returncode}"
        if "No module named 'django'" in completed.stderr:
            reason = "Django is not installed in this environment: pip install 'pytest-prodgate[django]'"
        return {"error": f"the Django probe failed: {reason}"}
    document: dict[str, Any] = json.loads(lines[-1])
    return document


def check_django(
    settings_module: str,
    checks: Iterable[str] = tuple(DJANGO_CHECKS),
    *,
    project_dir: str | None = None,
    python: str | None = None,
    options: Mapping[str, Any] | None = None,
    waivers: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
) -> dict[str, ReadinessResult]:
    """Run the Django checks named in ``checks`` (``django-deploy``...) in one probe; a result for each.

    Each Django message or audit finding keeps its id (``security.W004``, ``settings.DEBUG``,
    ``migrations.pending``) and can be waived in ``waivers`` with a reason.
    """
    names = list(checks)
    unknown = [n for n in names if n not in DJANGO_CHECKS]
    if unknown:
        raise ConfigError(f"unknown Django check {unknown[0]!r}; known: {', '.join(DJANGO_CHECKS)}")
    document = run_django_probe(
        settings_module,
        [DJANGO_CHECKS[n] for n in names],
        project_dir=project_dir,
        python=python,
        options=options,
        timeout=timeout,
        env=env,
    )
    redactor = Redactor()
    results: dict[str, ReadinessResult] = {}
    for name in names:
        part = (document.get("parts") or {}).get(DJANGO_CHECKS[name])
        error = document.get("error") or (part or {}).get("error")
        if error or part is None:
            results[name] = build_result(name, [], error=str(error or "the probe gave no answer"), redactor=redactor)
            continue
        findings = [Finding(f["id"], f["message"]) for f in part.get("findings", [])]
        summary = f"{part.get('summary', '')} ({settings_module})".strip()
        results[name] = build_result(
            name,
            findings,
            part.get("figures") or {},
            waivers=waivers,
            summary=summary,
            notes=part.get("notes") or (),
            redactor=redactor,
        )
    return results
