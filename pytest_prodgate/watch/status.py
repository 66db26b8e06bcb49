"""``prodgate status``: each gate's state, since when, its last reason and figures, and its availability.

Read from the watcher's state file and history (a running watcher may be writing them: SQLite and
whole JSON lines make that safe). Also lists the recent incidents (start, end) and each alert
channel's last delivery, so a failing channel shows here as well as in the watcher's log.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pytest_prodgate.watch.config import WatchSettings
from pytest_prodgate.watch.history import History, parse_time
from pytest_prodgate.watch.store import StateStore

__all__ = ["WINDOWS", "format_status", "gather_status"]

WINDOWS = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}


def gather_status(settings: WatchSettings, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything ``prodgate status`` shows, JSON-ready."""
    store = StateStore(settings.state_path)
    history = History(settings.history_path, max_bytes=settings.history_max_bytes, keep=settings.history_keep)
    if not store.exists():
        return {"state_file": str(settings.state_path), "watching": False, "gates": [], "incidents": [], "channels": []}
    availability = history.availability(WINDOWS, now=now or datetime.now(timezone.utc))
    gates = []
    for gate, s in store.gates().items():
        gates.append(
            {
                "gate": gate,
                "family": s.family,
                "state": s.state,
                "since": s.since,
                "observed": s.observed,
                "reason": s.reason,
                "figures": s.figures,
                "last_run": s.last_run,
                "availability": availability.get(gate, {label: None for label in WINDOWS}),
            }
        )
    meta = store.meta()
    return {
        "state_file": str(settings.state_path),
        "watching": True,
        "environment": settings.environment,
        "cycles": meta.get("cycles", 0),
        "last_cycle": meta.get("last_cycle"),
        "gates": gates,
        "incidents": [i.__dict__ for i in store.incidents()],
        "channels": [c.__dict__ for c in store.channel_results()],
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _figures(figures: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in figures.items())


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return lines


def format_status(status: dict[str, Any]) -> str:
    if not status["watching"]:
        return f"no watcher state at {status['state_file']}: run prodgate watch first"
    lines = [
        f"prodgate status: {len(status['gates'])} gates, {status['cycles']} cycles, last {status['last_cycle']}"
        f" (environment {status.get('environment') or 'none'})"
    ]
    rows = [
        [g["gate"], g["state"], g["since"] or "-", *(_percent(g["availability"][w]) for w in WINDOWS)]
        for g in status["gates"]
    ]
    lines += _table(["gate", "state", "since", *(f"avail {w}" for w in WINDOWS)], rows)
    lines.append("")
    for g in status["gates"]:
        figures = _figures(g["figures"])
        lines.append(f"{g['gate']}: {g['reason']}" + (f" [{figures}]" if figures else ""))
    if status["incidents"]:
        lines += ["", "incidents:"]
        for i in status["incidents"]:
            end = i["ended"] or "ongoing"
            lines.append(f"  {i['gate']}: {i['state']} from {i['started']} to {end}{_length(i)}: {i['reason']}")
    if status["channels"]:
        lines += ["", "alert channels:"]
        for c in status["channels"]:
            failing = f", {c['failures']} failed in a row" if not c["ok"] else ""
            lines.append(
                f"  {c['name']} ({c['kind']}): {'ok' if c['ok'] else 'FAILING'}, last {c['result']} at {c['at']}{failing}"
            )
    return "\n".join(lines)


def _length(incident: dict[str, Any]) -> str:
    if not incident["started"] or not incident["ended"]:
        return ""
    seconds = (parse_time(incident["ended"]) - parse_time(incident["started"])).total_seconds()
    return f" ({seconds:.0f} s)"
