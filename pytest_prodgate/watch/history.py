"""The history: one JSON line per cycle (its verdicts and figures), rotated by size with a kept count.

``history.jsonl`` is appended to; once it passes ``max_bytes`` it becomes ``history.jsonl.1`` (the
older ones shift to ``.2``... and the oldest past ``keep`` is deleted). ``availability`` reads the
lines back: the share of a gate's cycles in a window in which it was up or degraded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

__all__ = ["History", "parse_time"]

AVAILABLE = frozenset({"up", "degraded"})


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class History:
    def __init__(self, path: Path, *, max_bytes: int = 10 * 1024 * 1024, keep: int = 5) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep

    def append(self, cycle: dict[str, Any]) -> None:
        """Add one cycle's line (flushed and synced: a killed watcher loses no whole cycle)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(cycle, sort_keys=True, default=str) + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        if self.path.stat().st_size > self.max_bytes:
            self.rotate()

    def rotate(self) -> None:
        for index in range(self.keep, 0, -1):
            older = self._rotated(index)
            if index == self.keep:
                older.unlink(missing_ok=True)
            elif older.exists():
                older.replace(self._rotated(index + 1))
        if self.path.exists():
            self.path.replace(self._rotated(1))

    def _rotated(self, index: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{index}")

    def files(self) -> list[Path]:
        """The history files, oldest first."""
        rotated = [self._rotated(i) for i in range(self.keep, 0, -1)]
        return [p for p in [*rotated, self.path] if p.exists()]

    def cycles(self) -> Iterator[dict[str, Any]]:
        """Every cycle kept, oldest first (a torn last line, from a kill mid-write, is skipped)."""
        for path in self.files():
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue

    def count(self) -> int:
        return sum(1 for _ in self.cycles())

    def availability(self, windows: dict[str, float], *, now: datetime | None = None) -> dict[str, dict[str, Any]]:
        """For each gate and window (label -> seconds): the fraction of its cycles up or degraded, or None."""
        now = now or datetime.now(timezone.utc)
        counts: dict[str, dict[str, list[int]]] = {}
        starts = {label: now - timedelta(seconds=seconds) for label, seconds in windows.items()}
        for cycle in self.cycles():
            try:
                at = parse_time(cycle["started"])
            except (KeyError, ValueError, TypeError):
                continue
            for gate in cycle.get("gates", []):
                per_gate = counts.setdefault(gate.get("gate", "?"), {label: [0, 0] for label in windows})
                for label, start in starts.items():
                    if at >= start:
                        per_gate[label][1] += 1
                        per_gate[label][0] += gate.get("observed") in AVAILABLE
        return {
            gate: {label: (good / total if total else None) for label, (good, total) in per_label.items()}
            for gate, per_label in counts.items()
        }
