"""Value types of ``prodgate`` options (argparse ``type=``): a bad value is a usage error naming it.

argparse calls the type with the word given; an ``ArgumentTypeError`` becomes one line,
``prodgate health probe: error: --timeout '-5s': a duration must be positive`` (exit 4, see
``cli.CommandParser``), before any handler runs. Each message starts with the value, so it reads
after the option's name. Durations stay text: the handlers parse them.
"""

from __future__ import annotations

import argparse

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.thresholds import parse_duration

__all__ = ["count", "duration", "port", "positive_duration"]


def duration(text: str) -> str:
    """A duration of 0 or more, such as ``0s``, ``500ms`` or ``2m`` (returned as given)."""
    if _seconds(text) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration must not be negative")
    return text


def positive_duration(text: str) -> str:
    """A duration above zero, such as ``500ms``, ``10s`` or ``2m`` (returned as given)."""
    if not _seconds(text) > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration must be positive")
    return text


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ConfigError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration. Expected e.g. 500ms, 10s or 2m") from None


def count(text: str) -> int:
    """A whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 0 or more")
    return value


def port(text: str) -> int:
    """A TCP port, 0 to 65535 (0 picks a free one)."""
    value = count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is at most 65535")
    return value
