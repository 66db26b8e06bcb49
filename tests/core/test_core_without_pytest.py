"""The core never imports pytest, so the CLI and scripts can use it."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "pytest_prodgate",
    "pytest_prodgate.thresholds",
    "pytest_prodgate.bounds",
    "pytest_prodgate.baseline",
    "pytest_prodgate.report.deltas",
    "pytest_prodgate.report.timecharts",
    "pytest_prodgate.report.htmlparts",
    "pytest_prodgate.report.cli",
    "pytest_prodgate.performance.breakdown",
    "pytest_prodgate.config",
    "pytest_prodgate.gate",
    "pytest_prodgate.redact",
    "pytest_prodgate.summary",
    "pytest_prodgate.cli",
    "pytest_prodgate.demo_target",
    "pytest_prodgate.readiness",
    "pytest_prodgate.readiness.env",
    "pytest_prodgate.readiness.system",
    "pytest_prodgate.readiness.databases",
    "pytest_prodgate.readiness.cache",
    "pytest_prodgate.readiness.code",
    "pytest_prodgate.readiness.django_checks",
    "pytest_prodgate.readiness.django_probe",
    "pytest_prodgate.readiness.config",
    "pytest_prodgate.readiness.runner",
    "pytest_prodgate.watch.cli",
    "pytest_prodgate.watch.scheduler",
    "pytest_prodgate.watch.status",
    "pytest_prodgate.watch.alerts",
    "pytest_prodgate.readiness.serving",
    "pytest_prodgate.readiness.serving_settings",
    "pytest_prodgate.health.csp",
]


def test_core_modules_import_when_pytest_is_unavailable() -> None:
    code = "import sys; sys.modules['pytest'] = None\n" + "\n".join(f"import {name}" for name in CORE)
    code += "\nfrom pytest_prodgate.cli import build_parser; build_parser()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
