"""The exceptions pytest-prodgate raises, under one root.

Hierarchy::

    ProdgateError                 anything this package raises on purpose
    ├── ConfigError               a configuration mistake a person must fix (key, file, token)
    │   └── ThresholdError        a malformed threshold expression (points at the bad token)
    ├── TargetError               the target could not be reached or answered nonsense
    └── GateFailed                a gate's figures did not meet its thresholds (also an AssertionError)

The pytest plugin turns ``ConfigError`` raised at configuration or collection time into
``pytest.UsageError`` (exit code 4), and inside a test into an *error* verdict with the same
one-line message. The core never imports pytest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.thresholds import ThresholdResult


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


class TargetError(ProdgateError):
    """The target (URL, database, process) could not be reached; the message says why."""


class GateFailed(ProdgateError, AssertionError):
    """A gate's measured figures did not meet its thresholds."""

    def __init__(self, message: str, results: Sequence[ThresholdResult] = ()) -> None:
        self.results = tuple(results)
        super().__init__(message)
