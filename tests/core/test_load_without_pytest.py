"""The load engine and its CLI never import pytest."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "pytest_prodgate.performance",
    "pytest_prodgate.performance.engine",
    "pytest_prodgate.performance.cli",
    "pytest_prodgate.performance.config",
    "pytest_prodgate.performance.workers",
]


def test_load_modules_import_when_pytest_is_unavailable() -> None:
    code = "import sys; sys.modules['pytest'] = None\n" + "\n".join(f"import {name}" for name in MODULES)
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
