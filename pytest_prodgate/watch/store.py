"""The watcher's state file: each gate's state, its incidents and each channel's last delivery, in SQLite.

Everything one cycle changes is written in one transaction, so a watcher killed at any moment
(SIGKILL included) leaves the state of the last whole cycle: a restart mid-incident neither
repeats the down alert nor loses the resolved one. The alerts a cycle decides are saved in the same
transaction (the *outbox*) and removed once delivered or given up, so a watcher killed before they
went out sends them when it starts again. ``prodgate status`` reads the same file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing as _closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_prodgate.watch.states import Change, GateState

__all__ = ["ChannelResult", "Incident", "StateStore"]

_TABLES = """
CREATE TABLE IF NOT EXISTS gates (gate TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT, gate TEXT NOT NULL, state TEXT NOT NULL,
    started TEXT, ended TEXT, reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS channels (
    name TEXT PRIMARY KEY, kind TEXT NOT NULL, ok INTEGER NOT NULL, result TEXT NOT NULL, at TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, message TEXT NOT NULL, created TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Incident:
    gate: str
    state: str
    started: str | None
    ended: str | None
    reason: str


@dataclass(frozen=True)
class ChannelResult:
    """What happened to the last alert sent through one channel."""

    name: str
    kind: str
    ok: bool
    result: str
    at: str
    failures: int = 0  # failed deliveries in a row
    outbox_id: int | None = None  # the outbox row this delivery settles


class StateStore:
    """One SQLite file; a short-lived connection per operation (the file may be read by ``prodgate status``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.executescript(_TABLES)
        return connection

    def exists(self) -> bool:
        return self.path.is_file()

    def gates(self) -> dict[str, GateState]:
        with _closing(self._connect()) as db:
            rows = db.execute("SELECT data FROM gates ORDER BY gate").fetchall()
        states = [GateState.from_dict(json.loads(data)) for (data,) in rows]
        return {s.gate: s for s in states}

    def save_cycle(
        self,
        states: Iterable[GateState],
        changes: Iterable[tuple[Change, str]],
        meta: dict[str, Any],
        outbox: Iterable[tuple[str, dict[str, Any]]] = (),
    ) -> list[int]:
        """Write one cycle: every gate's state, the incidents its changes opened or closed, ``meta``, and
        the alerts to send (``(channel key, message)``, kept until delivered or given up); their outbox ids.
        """
        ids: list[int] = []
        with _closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                for state in states:
                    db.execute(
                        "INSERT OR REPLACE INTO gates (gate, data) VALUES (?, ?)",
                        (state.gate, json.dumps(state.to_dict(), sort_keys=True)),
                    )
                for change, reason in changes:
                    self._record_incident(db, change, reason)
                for key, value in meta.items():
                    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))
                for channel, message in outbox:
                    cursor = db.execute(
                        "INSERT INTO outbox (channel, message, created) VALUES (?, ?, ?)",
                        (channel, json.dumps(message), str(meta.get("last_cycle", ""))),
                    )
                    ids.append(int(cursor.lastrowid or 0))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return ids

    def outbox(self) -> list[tuple[int, str, dict[str, Any]]]:
        """Alerts saved with their cycle but not settled: a watcher was killed before they went out."""
        with _closing(self._connect()) as db:
            rows = db.execute("SELECT id, channel, message FROM outbox ORDER BY id").fetchall()
        return [(int(i), channel, json.loads(message)) for i, channel, message in rows]

    @staticmethod
    def _record_incident(db: sqlite3.Connection, change: Change, reason: str) -> None:
        open_row = db.execute(
            "SELECT id FROM incidents WHERE gate = ? AND ended IS NULL ORDER BY id DESC LIMIT 1", (change.gate,)
        ).fetchone()
        if change.event == "resolved":
            if open_row:
                db.execute("UPDATE incidents SET ended = ? WHERE id = ?", (change.since, open_row[0]))
        elif open_row:
            db.execute("UPDATE incidents SET state = ?, reason = ? WHERE id = ?", (change.state, reason, open_row[0]))
        else:
            db.execute(
                "INSERT INTO incidents (gate, state, started, reason) VALUES (?, ?, ?, ?)",
                (change.gate, change.state, change.since, reason),
            )

    def incidents(self, limit: int = 20) -> list[Incident]:
        with _closing(self._connect()) as db:
            rows = db.execute(
                "SELECT gate, state, started, ended, reason FROM incidents ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [Incident(*row) for row in rows]

    def drop_outbox(self, ids: Iterable[int]) -> None:
        with _closing(self._connect()) as db:
            db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def save_channel_results(self, results: Iterable[ChannelResult]) -> None:
        with _closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            for r in results:
                before = db.execute("SELECT failures FROM channels WHERE name = ?", (r.name,)).fetchone()
                failures = 0 if r.ok else (before[0] if before else 0) + 1
                db.execute(
                    "INSERT OR REPLACE INTO channels (name, kind, ok, result, at, failures) VALUES (?, ?, ?, ?, ?, ?)",
                    (r.name, r.kind, int(r.ok), r.result, r.at, failures),
                )
                if r.outbox_id is not None:
                    db.execute("DELETE FROM outbox WHERE id = ?", (r.outbox_id,))
            db.execute("COMMIT")

    def channel_results(self) -> list[ChannelResult]:
        with _closing(self._connect()) as db:
            rows = db.execute("SELECT name, kind, ok, result, at, failures FROM channels ORDER BY name").fetchall()
        return [
            ChannelResult(name, kind, bool(ok), result, at, failures) for name, kind, ok, result, at, failures in rows
        ]

    def meta(self) -> dict[str, Any]:
        with _closing(self._connect()) as db:
            rows = db.execute("SELECT key, value FROM meta").fetchall()
        return {key: json.loads(value) for key, value in rows}
