"""Target interpreters for the Django checks: separate virtualenvs that do NOT have pytest-prodgate.

``django_venv`` has Django (installed by pip, from the same indexes as this environment); ``bare_venv``
has nothing but the standard library. Each is made once per test session (per xdist worker).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_made: dict[str, Path] = {}


def _python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def make_venv(factory: pytest.TempPathFactory, name: str, packages: list[str]) -> Path:
    """A virtualenv with ``packages`` (and not pytest-prodgate); returns its interpreter."""
    if name in _made:
        return _made[name]
    venv = factory.mktemp(name)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = _python(venv)
    if packages:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *packages],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    # From the venv's own folder: the worktree (cwd) would put pytest_prodgate on sys.path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    lacking = subprocess.run(
        [str(python), "-c", "import pytest_prodgate"], capture_output=True, timeout=60, cwd=venv, env=env
    )
    assert lacking.returncode != 0, "the target venv must not see pytest_prodgate"
    _made[name] = python
    return python


@pytest.fixture(scope="session")
def django_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a venv with Django but without pytest-prodgate."""
    import django

    return make_venv(tmp_path_factory, "django-target", [f"django=={django.get_version()}"])


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a venv with neither Django nor pytest-prodgate."""
    return make_venv(tmp_path_factory, "bare-target", [])
