"""The exceptions pytest-prodgate raises, under one root.

Hierarchy::

    ProdgateError                 anything this package raises on purpose
    ├── ConfigError               a configuration mistake a person must fix (key, file, token)
    │   ├── ThresholdError        a malformed threshold expression (points at the bad token)
    │   └── CommandLineError      a mistake in a ``prodgate`` command's arguments (``prog`` names the command)
    ├── ClusterError              a Dask cluster could not run the load (unreachable, no workers, other version)
    ├── TargetError               the target could not be reached or answered nonsense
    │   ├── RequestFailed         a load request got no response (``kind``: connect, timeout, reset)
    │   │   └── ConnectFailed     ... because the connection could not be opened
    │   ├── SmokeFailed           a scenario failed its smoke request: the load is not started
    │   ├── RuleTimeout           a data rule's query ran past the statement timeout
    │   └── CouldNotRun           a gate could not measure anything: its verdict is ERROR, its reason one paragraph
    ├── GateFailed                a gate's figures did not meet its thresholds (also an AssertionError)
    │   └── ProbeFailed           a health probe's expectations were missed (holds the attempt history)
    ├── CheckFailed               a virtual user's ``check(..., stop=True)`` failed (also an AssertionError)
    ├── MissingPath               a JSON document has nothing at a path (also a LookupError)
    └── LockHeld                  another deployment holds the target's lock
        └── StaleLock             ... and its owner is gone (``--force`` takes it over)

Each class stays importable from the module that uses it (``performance.connection``,
``health.results``, ``deploy.lock``...). The pytest plugin turns ``ConfigError`` raised at
configuration or collection time into ``pytest.UsageError`` (exit code 4), and inside a test into
an *error* verdict with the same one-line message. The core never imports pytest, and this module
imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.health.results import ProbeResult
    from pytest_prodgate.thresholds import ThresholdResult

__all__ = [
    "CheckFailed",
    "ClusterError",
    "CommandLineError",
    "ConfigError",
    "ConnectFailed",
    "CouldNotRun",
    "GateFailed",
    "LockHeld",
    "MissingPath",
    "ProbeFailed",
    "ProdgateError",
    "RequestFailed",
    "RuleTimeout",
    "SmokeFailed",
    "StaleLock",
    "TargetError",
    "ThresholdError",
]


class ProdgateError(Exception):
    """Root of every exception pytest-prodgate raises on purpose."""


class ConfigError(ProdgateError):
    """A configuration mistake: names what is wrong, where, and what would be right."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.reason = message
        self.where = where
        super().__init__(self._render())

    def _render(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason

    def located(self, where: str) -> ConfigError:
        """Return a copy of this error that also says where the mistake is (file, key, marker)."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.where = f"{where}, {self.where}" if self.where else where
        Exception.__init__(clone, clone._render())
        return clone


class CommandLineError(ConfigError):
    """A mistake in the arguments of ``prog`` (``prodgate load``, ``prodgate health probe``...): exit code 4."""

    def __init__(self, message: str, *, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


class ThresholdError(ConfigError):
    """A threshold expression that cannot be parsed; ``token`` is the offending piece."""

    def __init__(
        self,
        expression: str,
        token: str,
        reason: str,
        *,
        column: int | None = None,
        where: str | None = None,
    ) -> None:
        self.expression = expression
        self.token = token
        self.column = column
        super().__init__(reason, where=where)

    def _render(self) -> str:
        place = f" in {self.where}" if self.where else ""
        return f"threshold {self.expression!r}{place}: {self.reason}"

    def located(self, where: str) -> ThresholdError:
        clone = super().located(where)
        assert isinstance(clone, ThresholdError)
        return clone


class ClusterError(ProdgateError):
    """A Dask cluster could not run the load: scheduler unreachable, no workers, another prodgate version."""


class TargetError(ProdgateError):
    """The target (URL, database, process) could not be reached; the message says why."""


class CouldNotRun(TargetError):
    """A gate could not measure anything: the smoke request failed, the target or its database was
    unreachable, the watched process was gone. The gate's verdict is *error* (not fail: nothing was
    judged), and the message is one paragraph (what was tried, what failed, the likely fix) shown
    instead of a traceback."""


class GateFailed(ProdgateError, AssertionError):
    """A gate's measured figures did not meet its thresholds."""

    def __init__(self, message: str, results: Sequence[ThresholdResult] = ()) -> None:
        self.results = tuple(results)
        super().__init__(message)


class RequestFailed(TargetError):
    """A load request got no response: ``kind`` is connect, timeout or reset."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}")


class ConnectFailed(RequestFailed):
    """A load request could not open its connection."""

    def __init__(self, detail: str) -> None:
        super().__init__("connect", detail)


class SmokeFailed(TargetError):
    """A scenario failed its single smoke request: the load is not started."""


class RuleTimeout(TargetError):
    """A data rule's query ran past the statement timeout."""


class ProbeFailed(GateFailed):
    """A probe's expectations were not met (or no response came); the message holds the history.

    ``ProbeResult.failure`` builds it with threshold results only when one of them missed
    (``health.results.missed_only``).
    """

    def __init__(
        self, message: str, result: ProbeResult | None = None, results: Sequence[ThresholdResult] = ()
    ) -> None:
        self.result = result
        super().__init__(message, results)


class CheckFailed(ProdgateError, AssertionError):
    """Raised by ``user.check(..., stop=True)`` to end the iteration after a failed check."""


class MissingPath(ProdgateError, LookupError):
    """The document has nothing at a path; the message says which segment was missing and what was there."""


class LockHeld(ProdgateError):
    """Another deployment holds the target's lock; ``owner`` is what its lock file says."""

    def __init__(self, message: str, owner: dict[str, Any]) -> None:
        self.owner = owner
        super().__init__(message)


class StaleLock(LockHeld):
    """The lock's owner is gone; ``--force`` takes it over."""
