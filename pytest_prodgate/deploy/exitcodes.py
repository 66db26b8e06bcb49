"""Exit codes of ``prodgate deploy``: one per way a deployment can end, so CI can tell them apart."""

from __future__ import annotations

import enum


class DeployExit(enum.IntEnum):
    """What ``prodgate deploy`` did; 0-4 agree with ``pytest_prodgate.exitcodes.ExitCode``."""

    DEPLOYED = 0  # deployed and verified (a dry run: the gates passed)
    GATES_FAILED = 1  # the pre-deploy gates failed: nothing changed
    INTERRUPTED = 2  # SIGINT/SIGTERM: stopped, rolled back by policy and healthy again (the record says which)
    INTERNAL_ERROR = 3  # prodgate itself failed (a bug or an unreadable file)
    USAGE_ERROR = 4  # a configuration or command-line mistake: nothing ran
    BACKUP_FAILED = 10  # a backup command failed or wrote nothing: nothing was deployed
    DEPLOY_FAILED_ROLLED_BACK = 11  # the deploy command failed; the rollback ran and health is back
    VERIFY_FAILED_ROLLED_BACK = 12  # deployed, verification failed; the rollback ran and health is back
    ROLLBACK_FAILED = 13  # a rollback was needed and failed, or health did not come back: needs a person
    LOCK_HELD = 14  # another deployment of this target holds the lock (or a stale lock needs --force)
    NOT_ROLLED_BACK = 15  # the deploy or its verification failed and no rollback is configured: needs a person

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    DeployExit.DEPLOYED: "deployed and verified",
    DeployExit.GATES_FAILED: "gates failed, nothing changed",
    DeployExit.INTERRUPTED: "interrupted",
    DeployExit.INTERNAL_ERROR: "internal error",
    DeployExit.USAGE_ERROR: "usage error",
    DeployExit.BACKUP_FAILED: "backup failed, nothing deployed",
    DeployExit.DEPLOY_FAILED_ROLLED_BACK: "deploy failed, rolled back",
    DeployExit.VERIFY_FAILED_ROLLED_BACK: "verification failed, rolled back",
    DeployExit.ROLLBACK_FAILED: "rollback failed, needs a person",
    DeployExit.LOCK_HELD: "lock held by another deployment",
    DeployExit.NOT_ROLLED_BACK: "failed and not rolled back, needs a person",
}
