"""``prodgate deploy``: a release gated on pytest, with backup, verification, rollback, a lock and a record.

Plain Python (never imports pytest): the gates and the verification run pytest as a subprocess and
decide on its JSON gate report. ``pipeline.run_deployment`` is the engine, ``cli`` the command.
"""

from __future__ import annotations

from pytest_prodgate.deploy.exitcodes import DeployExit

__all__ = ["DeployExit"]
