"""Deciding who is told what: alerts on state changes only, routed by severity, with cooldown and reminders.

Each cycle's changes become ``AlertItem``s: a gate going ``down`` or ``error`` is *critical* when the
gate is blocking (*warning* when its severity is warning), ``degraded`` is *warning*, ``resolved`` is
*info*, and a reminder (the gate still bad ``reminder`` after the last alert) keeps its state's severity.
A gate that goes bad again within ``cooldown`` of its last down alert is not alerted (a flapping gate),
and then its recovery is not either. Every channel gets at most one message per cycle: the items of
the severities it subscribes to, grouped. The webhook payload is documented in docs/watch.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from pytest_prodgate.watch.channels import Message
from pytest_prodgate.watch.config import AlertSettings, Channel
from pytest_prodgate.watch.history import parse_time
from pytest_prodgate.watch.states import BAD, Change, GateState

__all__ = ["AlertItem", "decide_alerts", "message_for", "severity_of", "test_message"]

_RANK = {"info": 0, "warning": 1, "critical": 2}
_ICON = {"down": "🔴", "error": "🟠", "degraded": "🟡", "resolved": "✅", "reminder": "🔁"}


@dataclass(frozen=True)
class AlertItem:
    """One gate in an alert: what happened to it and how serious that is."""

    event: str  # down, degraded, error, resolved, reminder
    severity: str
    state: GateState
    previous: str


def severity_of(state: str, gate_severity: str) -> str:
    if state == "up":
        return "info"
    if state == "degraded" or gate_severity == "warning":
        return "warning"
    return "critical"


def decide_alerts(
    states: dict[str, GateState], changes: Iterable[Change], settings: AlertSettings, *, now: str
) -> tuple[list[AlertItem], dict[str, GateState], list[str]]:
    """The items to send this cycle, the states updated with what was sent, and log lines for what was held back."""
    items: list[AlertItem] = []
    notes: list[str] = []
    updated = dict(states)
    changed = set()
    for change in changes:
        changed.add(change.gate)
        state = updated[change.gate]
        if change.event == "resolved":
            if state.alerted:
                items.append(AlertItem("resolved", "info", state, change.previous))
                updated[change.gate] = replace(state, alerted=False, last_alert=now)
            else:
                notes.append(f"{change.gate} resolved; no alert went out for it, so none goes out now")
            continue
        if state.alerted:  # another bad state during the same incident (down -> error)
            items.append(AlertItem(change.event, severity_of(change.state, state.severity), state, change.previous))
            updated[change.gate] = replace(state, last_alert=now)
            continue
        if _within(state.last_down_alert, settings.cooldown, now):
            notes.append(f"{change.gate} is {change.state} again within the cooldown; not alerted")
            continue
        items.append(AlertItem(change.event, severity_of(change.state, state.severity), state, change.previous))
        updated[change.gate] = replace(state, alerted=True, last_alert=now, last_down_alert=now)
    if settings.reminder > 0:
        for gate, state in updated.items():
            if gate in changed or state.state not in BAD or not state.alerted:
                continue
            if not _within(state.last_alert, settings.reminder, now):
                items.append(AlertItem("reminder", severity_of(state.state, state.severity), state, state.state))
                updated[gate] = replace(state, last_alert=now)
    return items, updated, notes


def _within(when: str | None, seconds: float, now: str) -> bool:
    if when is None or seconds <= 0:
        return False
    return (parse_time(now) - parse_time(when)).total_seconds() < seconds


def gate_payload(item: AlertItem, environment: str | None) -> dict[str, Any]:
    s = item.state
    return {
        "gate": s.gate,
        "family": s.family,
        "environment": environment,
        "event": item.event,
        "state": s.state,
        "previous": item.previous,
        "severity": item.severity,
        "since": s.since,
        "reason": s.reason,
        "figures": dict(s.figures),
    }


def message_for(items: list[AlertItem], *, environment: str | None, now: str, cycle: int | None = None) -> Message:
    """One message grouping the gates of one cycle (for one channel)."""
    severity = max((i.severity for i in items), key=_RANK.__getitem__)
    where = environment or "default environment"
    counts: dict[str, int] = {}
    for item in items:
        counts[item.event] = counts.get(item.event, 0) + 1
    title = f"prodgate watch ({where}): " + ", ".join(f"{n} {event}" for event, n in counts.items())
    lines = []
    for item in items:
        s = item.state
        since = f" since {s.since}" if s.since else ""
        label = "still " + s.state if item.event == "reminder" else item.event
        lines.append(f"{_ICON.get(item.event, '-')} {s.gate} ({s.family}): {label}{since}: {s.reason}")
    payload = {
        "event": "prodgate.watch",
        "type": "alert",
        "environment": environment,
        "time": now,
        "cycle": cycle,
        "severity": severity,
        "title": title,
        "gates": [gate_payload(item, environment) for item in items],
    }
    return Message(title, "\n".join(lines), payload, severity)


def messages_by_channel(
    items: list[AlertItem],
    channels: Iterable[Channel],
    *,
    environment: str | None,
    now: str,
    cycle: int | None = None,
) -> list[tuple[Channel, Message]]:
    """Each channel's one message for this cycle: the items of the severities it subscribes to."""
    out = []
    for channel in channels:
        mine = [i for i in items if channel.wants(i.severity)]
        if mine:
            out.append((channel, message_for(mine, environment=environment, now=now, cycle=cycle)))
    return out


def test_message(environment: str | None, now: str) -> Message:
    title = f"prodgate watch ({environment or 'default environment'}): test alert"
    payload: dict[str, Any] = {
        "event": "prodgate.watch",
        "type": "test",
        "environment": environment,
        "time": now,
        "severity": "info",
        "title": title,
        "gates": [],
    }
    return Message(title, "A test message from prodgate watch --test-alerts: this channel works.", payload, "info")
