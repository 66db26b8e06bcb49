"""Exit codes of the ``prodgate`` command (``prodgate deploy`` adds its own, see ``deploy/``)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a ``prodgate`` command's exit status means; aligned with pytest's where they overlap."""

    OK = 0
    GATES_FAILED = 1
    INTERRUPTED = 2
    INTERNAL_ERROR = 3
    USAGE_ERROR = 4
