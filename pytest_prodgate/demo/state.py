"""The runtime switch: a JSON state file that a deploy script rewrites to "release" a new demo version.

``{"version": "1.2.0", "faults": ["not-ready"]}``: both keys optional. The file is checked at most every
0.2 s (one ``os.stat``) and re-read when its mtime, size or inode changes. The active faults are the
start faults (``--fault``, ``PRODGATE_DEMO_FAULTS``) plus the state file's; the version is the state
file's, else ``DEFAULT_VERSION``. A file that is missing means "no switch"; one that does not parse
(e.g. half written) keeps the previous state and is retried on the next check.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_prodgate.demo.faults import parse_faults
from pytest_prodgate.errors import ConfigError

DEFAULT_VERSION = "1.0.0"
CHECK_INTERVAL = 0.2


@dataclass(frozen=True)
class Release:
    """What the demo currently runs: a version label and the faults it has."""

    version: str
    faults: frozenset[str]


def parse_state(text: str, *, where: str) -> tuple[str | None, frozenset[str]]:
    """Parse a state file's text into (version or None, faults); a mistake is a ``ConfigError``."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON ({exc.msg} at line {exc.lineno})", where=where) from None
    if not isinstance(data, dict):
        raise ConfigError('expected a JSON object like {"version": "1.2.0", "faults": ["slow"]}', where=where)
    unknown = sorted(set(data) - {"version", "faults"})
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r}; expected 'version' and 'faults'", where=where)
    version = data.get("version")
    if version is not None and not isinstance(version, str):
        raise ConfigError(f"'version' must be a string, not {type(version).__name__}", where=where)
    faults = data.get("faults", [])
    if not isinstance(faults, list) or not all(isinstance(name, str) for name in faults):
        raise ConfigError("'faults' must be a list of fault names", where=where)
    return version, parse_faults(faults, where=f"{where}, 'faults'")


class StateFile:
    """Follows a state file; ``release`` is what the demo runs now."""

    def __init__(self, path: Path | None, start_faults: Iterable[str] = (), *, clock: Any = time.monotonic) -> None:
        self.path = path
        self.start_faults = frozenset(start_faults)
        self._clock = clock
        self._signature: tuple[int, int, int] | None = None
        self._bad_signature: tuple[int, int, int] | None = None
        self.error: str | None = None
        self._last_check = float("-inf")
        self.release = Release(DEFAULT_VERSION, self.start_faults)
        if path is not None:
            self._reload(strict=True)
            self._last_check = clock()

    def refresh(self) -> bool:
        """Re-read the file if it changed (at most every ``CHECK_INTERVAL``); True when the release changed."""
        if self.path is None:
            return False
        if self._clock() - self._last_check < CHECK_INTERVAL:
            return False
        return self.check()

    def check(self) -> bool:
        """Re-read the file now if it changed (the server's watcher calls this every ``CHECK_INTERVAL``)."""
        if self.path is None:
            return False
        self._last_check = self._clock()
        return self._reload(strict=False)

    def _reload(self, *, strict: bool) -> bool:
        assert self.path is not None
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            signature = None
        else:
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if not strict and (
            signature == self._signature or (signature is not None and signature == self._bad_signature)
        ):
            return False
        if signature is None:
            version, faults = None, frozenset[str]()
        else:
            try:
                version, faults = parse_state(self.path.read_text(encoding="utf-8"), where=str(self.path))
            except (ConfigError, OSError) as exc:
                if strict:
                    raise
                # Keep the last good release; the file is read again once it changes (e.g. finished writing).
                self._bad_signature, self.error = signature, str(exc)
                print(f"prodgate demo: ignoring state file: {exc}", file=sys.stderr, flush=True)
                return False
        self._signature, self._bad_signature, self.error = signature, None, None
        before = self.release
        self.release = Release(version or DEFAULT_VERSION, self.start_faults | faults)
        return self.release != before
