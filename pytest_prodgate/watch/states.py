"""Each gate's state, and the N-in-a-row rules that move it.

A cycle observes each gate as ``up`` (passed, or skipped with the project's allowance), ``degraded``
(a warning-severity gate that failed), ``down`` (a blocking gate that failed) or ``error`` (it could
not run: an error verdict, an unallowed skip, a cycle that timed out). The gate's *state* follows
its observations only after ``failures_before_alert`` bad cycles in a row, and goes back to ``up``
only after ``successes_before_resolve`` good ones, so a single blip changes nothing. ``advance``
is pure: the scheduler saves what it returns and alerts on the ``Change`` it reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["BAD", "GateObservation", "GateState", "Change", "advance", "observe"]

UP, DEGRADED, DOWN, ERROR, UNKNOWN = "up", "degraded", "down", "error", "unknown"
BAD = frozenset({DEGRADED, DOWN, ERROR})


@dataclass(frozen=True)
class GateObservation:
    """What one cycle saw of one gate."""

    gate: str  # the node id
    family: str | None
    severity: str  # blocking or warning
    observed: str  # up, degraded, down, error
    reason: str = ""
    figures: dict[str, float | None] = field(default_factory=dict)
    duration: float = 0.0


def observe(entry: dict[str, Any]) -> GateObservation:
    """The observation of a gate from its entry in the JSON gate report."""
    verdict = entry.get("verdict", "error")
    severity = str(entry.get("severity", "blocking"))
    if verdict == "pass" or (verdict == "skip" and entry.get("skip_allowed")):
        observed = UP
    elif verdict == "warning" or (verdict == "fail" and severity == "warning"):
        observed = DEGRADED
    elif verdict == "fail":
        observed = DOWN
    else:
        observed = ERROR
    reason = str(entry.get("decided_by") or entry.get("message") or verdict)
    return GateObservation(
        gate=str(entry.get("nodeid") or entry.get("name") or "?"),
        family=entry.get("family"),
        severity=severity,
        observed=observed,
        reason=reason,
        figures=dict(entry.get("figures") or {}),
        duration=float(entry.get("duration") or 0.0),
    )


@dataclass(frozen=True)
class GateState:
    """A gate as the watcher keeps it between cycles (and across restarts, in the state file)."""

    gate: str
    family: str | None = None
    severity: str = "blocking"
    state: str = UNKNOWN
    since: str | None = None  # when the current state began (for a bad one: the first bad cycle)
    observed: str = UNKNOWN
    reason: str = ""
    figures: dict[str, float | None] = field(default_factory=dict)
    duration: float = 0.0
    last_run: str | None = None
    failures: int = 0  # bad cycles in a row
    successes: int = 0  # good cycles in a row
    streak_start: str | None = None  # when the current run of bad cycles began
    alerted: bool = False  # a down/degraded/error alert went out for the current incident
    last_alert: str | None = None  # when the last alert about this gate went out (ISO 8601)
    last_down_alert: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Change:
    """A gate's state changed this cycle: ``previous`` -> ``state`` (``resolved`` when it came back up)."""

    gate: str
    previous: str
    state: str
    since: str | None

    @property
    def event(self) -> str:
        return "resolved" if self.state == UP else self.state


def advance(
    current: GateState | None,
    seen: GateObservation,
    *,
    now: str,
    failures_before_alert: int,
    successes_before_resolve: int,
) -> tuple[GateState, Change | None]:
    """The gate's state after one more observation, and the change it made (None when it made none)."""
    state = current or GateState(gate=seen.gate)
    state = replace(
        state,
        family=seen.family,
        severity=seen.severity,
        observed=seen.observed,
        reason=seen.reason,
        figures=dict(seen.figures),
        duration=seen.duration,
        last_run=now,
    )
    if seen.observed in BAD:
        failures = state.failures + 1
        streak_start = state.streak_start if state.failures else now
        state = replace(state, failures=failures, successes=0, streak_start=streak_start)
        if failures >= failures_before_alert and state.state != seen.observed:
            if state.state in BAD:  # still an incident, of another kind (down -> error): it keeps its start
                return _moved(state, seen.observed, state.since)
            return _moved(state, seen.observed, streak_start)
        return state, None
    successes = state.successes + 1
    state = replace(state, successes=successes, failures=0, streak_start=None)
    if state.state == UNKNOWN:  # the first good cycle: up at once, nobody is told
        return replace(state, state=UP, since=now), None
    if state.state in BAD and successes >= successes_before_resolve:
        return _moved(state, UP, now)
    return state, None


def _moved(state: GateState, to: str, since: str | None) -> tuple[GateState, Change]:
    change = Change(state.gate, state.state, to, since)
    return replace(state, state=to, since=since), change
