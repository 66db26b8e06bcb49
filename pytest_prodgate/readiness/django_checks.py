"""Django readiness (the ``django`` extra): settings audit, ``check --deploy``, migrations, static
files, databases and caches, logging.

Why a subprocess: Django configures its settings once per process, from one settings module, and
a test run may already have Django set up with *test* settings (pytest-django). So the checks run
in a child process with ``DJANGO_SETTINGS_MODULE`` set to the settings under audit, in the project
directory, and answer in JSON. The parent never imports Django, so auditing ``settings.production``
cannot disturb the tests, nor the tests the audit.

The child is the *target's* interpreter (the ``python`` option, e.g. the app's own venv), which
need not have pytest-prodgate installed: it runs the source of ``django_probe.py`` (standard
library and Django only) given on its stdin, as ``python - --parts ...``. When it cannot run, each
check is an error with one paragraph: what was tried, what failed, the likely fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.readiness.result import Finding, ReadinessResult, build_result
from pytest_prodgate.redact import Redactor
from pytest_prodgate.thresholds import parse_duration

__all__ = ["DJANGO_CHECKS", "check_django", "probe_source", "run_django_probe"]

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


def probe_source() -> str:
    """The probe script handed to the target's interpreter (it imports nothing of pytest-prodgate)."""
    return Path(__file__).with_name("django_probe.py").read_text(encoding="utf-8")


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
    """Run the probe in the target's interpreter and return its JSON document.

    When the probe cannot answer, the document is ``{"error": paragraph}``: what was tried, what
    failed, the likely fix.
    """
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
    interpreter = python or sys.executable
    command = [interpreter, "-", "--parts", ",".join(parts), "--options", json.dumps(wanted)]
    tried = f"Ran the Django probe with {interpreter} in {cwd} (DJANGO_SETTINGS_MODULE={settings_module})"
    try:
        completed = subprocess.run(
            command, input=probe_source(), capture_output=True, text=True, cwd=cwd, env=child_env, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {
            "error": f"{tried}: it did not finish within {timeout:g} s. Likely fix: a database or cache that "
            "never answers (see django-services), or a settings module doing slow work at import; "
            "raise [tool.prodgate.readiness.django] timeout if start-up is slow but sound."
        }
    except OSError as exc:
        return {
            "error": f"Tried to start the Django probe with {interpreter}: {exc.strerror or exc}. Likely fix: set "
            "[tool.prodgate.readiness.django] python to the interpreter of the app's environment "
            "(e.g. /srv/app/.venv/bin/python)."
        }
    lines = [line for line in completed.stdout.strip().splitlines() if line.startswith("{")]
    if not lines:
        tail = [line.strip() for line in completed.stderr.strip().splitlines() if line.strip()]
        failed = tail[-1] if tail else f"exit status {completed.returncode} and no output"
        return {
            "error": f"{tried}: it gave no answer ({failed}). Likely fix: the probe needs Python 3.8 or newer in "
            "that interpreter; run the command above by hand to see the whole output."
        }
    document: dict[str, Any] = json.loads(lines[-1])
    stage = document.get("stage")
    version = f" (Python {document.get('python_version', '?')})"
    if stage == "import":
        document["error"] = (
            f"{tried}{version}: Django is not installed there ({document['error']}). Likely fix: set "
            "[tool.prodgate.readiness.django] python to the app's own virtualenv, or pip install django into "
            "that environment; pytest-prodgate itself is not needed there."
        )
    elif stage == "setup":
        document["error"] = (
            f"{tried}{version}, Django {document.get('django', '?')}: {document['error']}. Likely fix: install "
            "the project's own requirements into that environment (the settings import them), or set python "
            "to the app's virtualenv; check the settings module name and project_dir."
        )
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
        part: dict[str, Any] | None = (document.get("parts") or {}).get(DJANGO_CHECKS[name])
        error = document.get("error")
        if not error and part is None:
            error = f"the Django probe ran but did not answer for {name}"
        elif not error and part is not None and part.get("error"):
            fix = part.get("fix") or (
                f"run DJANGO_SETTINGS_MODULE={settings_module} {document.get('python', 'python')} manage.py check "
                "to see the whole traceback"
            )
            error = (
                f"Ran {name} with Django {document.get('django', '?')} under {document.get('python', '?')} "
                f"({settings_module}): {part['error']}. Likely fix: {fix}."
            )
        if error or part is None:
            results[name] = build_result(name, [], error=str(error), redactor=redactor)
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
