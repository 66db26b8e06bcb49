"""The watcher: runs a cycle every interval, keeps the state, writes the history, alerts and serves metrics.

Cycles never overlap: the next starts ``every`` after the previous one started, or at once when that
one took longer (missed ticks are dropped, never queued). SIGTERM and SIGINT cut the cycle in flight
(its process group gets SIGTERM), and the watcher exits 0 with the state of the last whole cycle
saved. ``jitter`` delays the first cycle by a random share of it, so many watchers do not fire together.
"""

from __future__ import annotations

import random
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from typing import IO, Any

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.signals import install_stop_handlers, restore_handlers
from pytest_prodgate.watch.alerts import decide_alerts, messages_by_channel
from pytest_prodgate.watch.channels import Dispatcher, Message
from pytest_prodgate.watch.config import Channel, WatchSettings
from pytest_prodgate.watch.cycle import CYCLE_GATE, CycleResult, run_cycle
from pytest_prodgate.watch.history import History
from pytest_prodgate.watch.states import Change, GateObservation, GateState, advance
from pytest_prodgate.watch.store import ChannelResult, StateStore

__all__ = ["Watcher", "now_iso"]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Watcher:
    def __init__(self, settings: WatchSettings, *, cycles: int | None = None, out: IO[str] | None = None) -> None:
        self.settings = settings
        self.max_cycles = cycles
        self.out = out or sys.stdout
        self.stop = threading.Event()
        self.store = StateStore(settings.state_path)
        self.history = History(settings.history_path, max_bytes=settings.history_max_bytes, keep=settings.history_keep)
        self.dispatcher = Dispatcher(
            retries=settings.alerts.retries, backoff=settings.alerts.backoff, log=self.say, settle=self._settle
        )
        self.metrics: Any = None
        self.cycle_number = int(self.store.meta().get("cycles", 0)) if self.store.exists() else 0

    def say(self, line: str) -> None:
        print(f"{now_iso()} prodgate watch: {line}", file=self.out, flush=True)

    def run(self) -> int:
        previous = self._install_handlers()
        try:
            if self.settings.metrics_port is not None:
                from pytest_prodgate.watch.metrics import MetricsServer

                try:
                    self.metrics = MetricsServer(
                        self.settings.metrics_host, self.settings.metrics_port, self.settings.environment
                    )
                except OSError as exc:
                    where = f"{self.settings.metrics_host}:{self.settings.metrics_port}"
                    raise ConfigError(f"metrics_port: cannot listen on {where}: {exc.strerror or exc}") from None
                self.metrics.update(self.store.gates())
                self.say(f"metrics at {self.metrics.url}")
            self.say(
                f"watching -m {self.settings.marker!r} every {self.settings.every:g} s "
                f"(cycle timeout {self.settings.cycle_timeout:g} s, environment {self.settings.environment or 'none'}, "
                f"{len(self.settings.alerts.channels)} alert channels, state {self.settings.state_path})"
            )
            self._resend_outbox()
            if self.settings.jitter > 0 and self.stop.wait(random.uniform(0, self.settings.jitter)):
                return 0
            done = 0
            while not self.stop.is_set():
                started = time.monotonic()
                self.run_one()
                done += 1
                if self.max_cycles is not None and done >= self.max_cycles:
                    break
                self.stop.wait(max(0.0, started + self.settings.every - time.monotonic()))
            return 0
        finally:
            self._shut_down()
            self._restore_handlers(previous)

    def run_one(self) -> None:
        """One cycle: run the gates, advance and save the states, write history, send alerts."""
        states = self.store.gates()
        known = {
            gate: GateObservation(gate, s.family, s.severity, s.observed) for gate, s in states.items() if s.last_run
        }
        started_at = now_iso()
        if len(known) > 1:
            known.pop(CYCLE_GATE, None)
        result = run_cycle(self.settings, known, self.stop)
        if result.outcome == "ok" and CYCLE_GATE in states:  # the cycle runs again: its stand-in recovers
            result.observations.append(GateObservation(CYCLE_GATE, None, "blocking", "up", "the cycle ran"))
        if result.outcome == "interrupted":
            self.say(
                f"cycle cut short after {result.duration:.1f} s: {result.reason}; state of the last whole cycle kept"
            )
            return
        now = now_iso()
        self.cycle_number += 1
        changes: list[Change] = []
        for seen in result.observations:
            state, change = advance(
                states.get(seen.gate),
                seen,
                now=now,
                failures_before_alert=self.settings.failures_before_alert,
                successes_before_resolve=self.settings.successes_before_resolve,
            )
            states[seen.gate] = state
            if change is not None:
                changes.append(change)
        items, states, notes = decide_alerts(states, changes, self.settings.alerts, now=now)
        sends = messages_by_channel(
            items,
            self.settings.alerts.channels,
            environment=self.settings.environment,
            now=now,
            cycle=self.cycle_number,
        )
        outbox_ids = self.store.save_cycle(
            [states[s.gate] for s in result.observations],
            [(c, states[c.gate].reason) for c in changes],
            {
                "cycles": self.cycle_number,
                "last_cycle": now,
                "last_outcome": result.outcome,
                "marker": self.settings.marker,
            },
            [(channel.key, message.to_dict()) for channel, message in sends],
        )
        self.history.append(self._history_line(started_at, now, result, states))
        self._log_cycle(result, states, changes, notes)
        if sends:
            self.dispatcher.dispatch([(c, m, i) for (c, m), i in zip(sends, outbox_ids, strict=True)])
            self.say(f"alert: {len(items)} gates in {len(sends)} messages ({', '.join(c.name for c, _ in sends)})")
        if self.metrics is not None:
            self.metrics.update(states)
            self.metrics.cycle(result.outcome, result.duration)

    def _resend_outbox(self) -> None:
        """Send the alerts a killed watcher saved but did not settle (a channel no longer configured: dropped)."""
        if not self.store.exists():
            return
        pending = self.store.outbox()
        if not pending:
            return
        channels = {c.key: c for c in self.settings.alerts.channels}
        sends: list[tuple[Channel, Message, int | None]] = [
            (channels[key], Message.from_dict(m), i) for i, key, m in pending if key in channels
        ]
        gone = [i for i, key, _ in pending if key not in channels]
        if gone:
            self.store.drop_outbox(gone)
        self.say(f"sending {len(sends)} alerts the previous watcher saved but did not send")
        self.dispatcher.dispatch(sends)

    def _history_line(
        self, started: str, finished: str, result: CycleResult, states: dict[str, GateState]
    ) -> dict[str, Any]:
        return {
            "cycle": self.cycle_number,
            "started": started,
            "finished": finished,
            "duration": round(result.duration, 3),
            "outcome": result.outcome,
            "exit_status": result.exit_status,
            "environment": self.settings.environment,
            "reason": result.reason,
            "gates": [
                {
                    "gate": seen.gate,
                    "family": seen.family,
                    "severity": seen.severity,
                    "observed": seen.observed,
                    "state": states[seen.gate].state,
                    "reason": seen.reason,
                    "figures": seen.figures,
                    "duration": seen.duration,
                }
                for seen in result.observations
            ],
        }

    def _log_cycle(
        self, result: CycleResult, states: dict[str, GateState], changes: list[Change], notes: list[str]
    ) -> None:
        counts: dict[str, int] = {}
        for seen in result.observations:
            counts[seen.observed] = counts.get(seen.observed, 0) + 1
        seen_text = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no gates"
        self.say(f"cycle {self.cycle_number} {result.outcome} in {result.duration:.1f} s: {seen_text}")
        if result.outcome != "ok" or not result.observations:
            self.say(f"cycle {self.cycle_number}: {result.reason}")
        for change in changes:
            self.say(
                f"{change.gate}: {change.previous} -> {change.state} since {change.since}: {states[change.gate].reason}"
            )
        for note in notes:
            self.say(note)

    def _settle(self, result: ChannelResult) -> None:
        """A delivery's result (in its sending thread): into the state file, the metrics and the log."""
        self.store.save_channel_results([result])
        if self.metrics is not None:
            self.metrics.alert(result.name, result.ok)
        if result.ok:
            self.say(f"alert to {result.name} {result.result}")

    def _shut_down(self) -> None:
        longest = max((c.timeout for c in self.settings.alerts.channels), default=0.0)
        self.dispatcher.finish(longest)
        if self.metrics is not None:
            self.metrics.close()
        self.say(f"stopped after cycle {self.cycle_number}; state saved in {self.settings.state_path}")

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.say(f"{signal.Signals(signum).name} received: stopping")
        self.stop.set()

    def _install_handlers(self) -> dict[int, Any]:
        return install_stop_handlers(self._on_signal)

    def _restore_handlers(self, previous: dict[int, Any]) -> None:
        restore_handlers(previous)
