"""Which commit a run is about: one answer for the gate report and for the deployment record.

``prodgate deploy`` records the commit it deploys and hands it to its pytest runs as
``PRODGATE_GIT_COMMIT``, so the reports of one release always name the commit its record names.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

__all__ = ["COMMIT_VARIABLE", "git_commit"]

COMMIT_VARIABLE = "PRODGATE_GIT_COMMIT"
_CI_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA")


def git_commit(cwd: str | Path | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """The commit under test or being deployed.

    In order: ``PRODGATE_GIT_COMMIT`` (set by a person, or by ``prodgate deploy`` for its gate runs);
    ``git rev-parse HEAD`` in ``cwd`` (the files actually there); the CI's ``GITHUB_SHA`` or
    ``CI_COMMIT_SHA`` (a checkout without ``.git``); else ``None``.
    """
    env = os.environ if env is None else env
    if env.get(COMMIT_VARIABLE):
        return env[COMMIT_VARIABLE]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        done = None
    commit = done.stdout.strip() if done is not None and done.returncode == 0 else ""
    if commit:
        return commit
    return next((env[name] for name in _CI_VARIABLES if env.get(name)), None)
