"""What a deployment will do, as the plan shows it, and which commit it deploys (``vcs.git_commit``)."""

from __future__ import annotations

import shlex
from pathlib import Path

from pytest_prodgate.deploy.config import DeploySettings
from pytest_prodgate.redact import Redactor, mask_url
from pytest_prodgate.vcs import git_commit

__all__ = ["git_commit", "render_plan"]


def _shown(path: Path | str, root: Path) -> str:
    """A path relative to the project root when inside it."""
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)


def render_plan(s: DeploySettings, lock_path: Path, deployment_id: str, redactor: Redactor) -> list[str]:
    """One line per step (and for lock, record, notifications), secrets masked."""
    q = shlex.quote
    lines = []
    gates = f"pytest -m {q(s.gates)}" if s.gates else "(none)"
    lines.append(f"gates     {gates}  [timeout {s.timeout('gates'):g}s]")
    backups = [*s.backup, *(f"sqlite backup of {_shown(p, s.root)}" for p in s.sqlite_backup)]
    where = f"into {_shown(s.backups_dir, s.root)}/<id>/ (keep {s.keep})"
    backup = "; ".join(backups) + " " + where if backups else "(none)"
    lines.append(f"backup    {backup}  [timeout {s.timeout('backup'):g}s]")
    lines.append(f"run       {s.run or '(nothing)'}  [timeout {s.timeout('run'):g}s]")
    verify = []
    if s.health_url:
        verify.append(f"wait until {mask_url(s.health_url)} is healthy [timeout {s.timeout('health'):g}s]")
    if s.verify:
        verify.append(f"pytest -m {q(s.verify)} [timeout {s.timeout('verify'):g}s]")
    lines.append(f"verify    {', then '.join(verify) or '(nothing)'}")
    if s.rollback and s.rollback_policy == "automatic":
        rollback = "; ".join(s.rollback)
        lines.append(f"rollback  on failure: {rollback}, then verify again  [timeout {s.timeout('rollback'):g}s]")
    else:
        lines.append(f"rollback  none ({'policy manual' if s.rollback else 'no rollback commands'})")
    lines.append(f"lock      {_shown(lock_path, s.root)}")
    if s.dry_run:
        lines.append("record    none: a dry run writes nothing (no lock, record, backup or report file)")
    else:
        lines.append(f"record    {_shown(s.records_dir / (deployment_id + '.json'), s.root)}")
    told = [f"{len(s.webhooks)} webhook{'s' if len(s.webhooks) != 1 else ''}"] if s.webhooks else []
    if s.email is not None:
        told.append(f"email to {', '.join(s.email.to)} via {s.email.host}:{s.email.port}")
    if told:
        lines.append(f"notify    {'; '.join(told)}")
    return [redactor.text(line) for line in lines]
