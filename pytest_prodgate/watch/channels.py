"""Sending one message through one channel: a JSON webhook (httpx) or an Apprise URL.

A send has the channel's timeout; a failure is retried ``retries`` times with a doubling backoff.
``Dispatcher`` sends in background threads, so a channel that refuses or hangs never delays the
next cycle; each result goes to the state file and the log as soon as it is known.
Only a channel's scheme and host are ever shown (``Channel.name``): URLs carry tokens and passwords.
Apprise is imported only when an Apprise channel sends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from pytest_prodgate.watch.config import Channel
from pytest_prodgate.watch.store import ChannelResult

__all__ = ["Dispatcher", "Message", "send", "send_with_retries"]

# Apprise's notification types by alert severity (they set the colour and icon in chat services).
_APPRISE_TYPES = {"info": "success", "warning": "warning", "critical": "failure"}


@dataclass(frozen=True)
class Message:
    """One alert: a title and body for people, a JSON payload for automation, and its severity."""

    title: str
    body: str
    payload: dict[str, Any]
    severity: str  # info, warning, critical

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "body": self.body, "payload": self.payload, "severity": self.severity}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(str(data["title"]), str(data["body"]), dict(data["payload"]), str(data["severity"]))


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def send(channel: Channel, message: Message) -> tuple[bool, str]:
    """One attempt; returns (delivered, what happened in a few words)."""
    if channel.kind == "apprise":
        return _send_apprise(channel, message)
    return _send_webhook(channel, message)


def _send_webhook(channel: Channel, message: Message) -> tuple[bool, str]:
    import httpx

    if channel.format == "slack":
        body: dict[str, Any] = {
            "text": f"{message.title}\n{message.body}",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{message.title}*\n{message.body}"}}],
        }
    else:
        body = message.payload
    try:
        response = httpx.post(channel.url, json=body, headers=dict(channel.headers), timeout=channel.timeout)
    except httpx.HTTPError as exc:
        return False, f"failed: {type(exc).__name__}"
    return response.is_success, f"HTTP {response.status_code}"


def _send_apprise(channel: Channel, message: Message) -> tuple[bool, str]:
    """Apprise in a helper thread, bounded by the channel's timeout (a plugin's own timeouts may be longer)."""
    outcome: list[tuple[bool, str]] = []

    def attempt() -> None:
        import apprise

        notifier = apprise.Apprise()
        if not notifier.add(channel.url):
            outcome.append((False, "failed: Apprise does not understand this URL"))
            return
        with apprise.LogCapture(level=apprise.logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            ok = notifier.notify(
                title=message.title, body=message.body, notify_type=_APPRISE_TYPES.get(message.severity, "info")
            )
        if ok:
            outcome.append((True, "sent"))
            return
        lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
        outcome.append((False, f"failed: {_without_url(lines[-1], channel.url) if lines else 'Apprise said no'}"))

    worker = threading.Thread(target=attempt, name="prodgate-apprise", daemon=True)
    worker.start()
    worker.join(channel.timeout)
    if worker.is_alive():
        return False, f"failed: no answer within {channel.timeout:g} s"
    return outcome[0] if outcome else (False, "failed: Apprise raised an exception")


def _without_url(text: str, url: str) -> str:
    return text.replace(url, "<url>")[:200]


def send_with_retries(
    channel: Channel,
    message: Message,
    *,
    retries: int,
    backoff: float,
    log: Callable[[str], None],
    stop: threading.Event | None = None,
) -> ChannelResult:
    """Send, retrying with a doubling backoff; each failed attempt is logged."""
    ok, result = False, "not sent"
    for attempt in range(retries + 1):
        try:
            ok, result = send(channel, message)
        except Exception as exc:  # a channel never crashes the watcher
            ok, result = False, f"failed: {type(exc).__name__}"
        if ok:
            break
        last = attempt == retries
        log(
            f"alert to {channel.name} {result}"
            + ("" if last else f"; retrying in {backoff * 2**attempt:g} s")
            + f" (attempt {attempt + 1} of {retries + 1})"
        )
        if last or (stop is not None and stop.wait(backoff * 2**attempt)):
            break
        if stop is None:
            time.sleep(backoff * 2**attempt)
    return ChannelResult(channel.name, channel.kind, ok, result, now_iso())


class Dispatcher:
    """Sends messages in background threads; ``settle`` records each result (and its outbox row) at once."""

    def __init__(
        self,
        *,
        retries: int,
        backoff: float,
        log: Callable[[str], None],
        settle: Callable[[ChannelResult], None],
    ) -> None:
        self.retries = retries
        self.backoff = backoff
        self.log = log
        self.settle = settle  # called in the sending thread with each delivery's result, as soon as it is known
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def dispatch(self, sends: list[tuple[Channel, Message, int | None]]) -> int:
        """Start sending each message to its channel in the background (settling its outbox row); how many."""
        for channel, message, outbox_id in sends:
            thread = threading.Thread(
                target=self._deliver,
                args=(channel, message, outbox_id),
                name=f"prodgate-alert {channel.name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        self._threads = [t for t in self._threads if t.is_alive()]
        return len(sends)

    def _deliver(self, channel: Channel, message: Message, outbox_id: int | None) -> None:
        result = send_with_retries(
            channel, message, retries=self.retries, backoff=self.backoff, log=self.log, stop=self._stop
        )
        if self._stop.is_set() and not result.ok:
            outbox_id = None  # cut short by a stop: the next watcher tries again
        try:
            self.settle(replace(result, outbox_id=outbox_id))
        except Exception as exc:  # e.g. the state file is locked: the alert stays in the outbox
            self.log(f"could not record the alert to {channel.name}: {type(exc).__name__}: {exc}")

    def finish(self, deadline: float) -> None:
        """On shutdown: no more retries; wait up to ``deadline`` seconds for sends in flight."""
        self._stop.set()
        give_up = time.monotonic() + deadline
        for thread in self._threads:
            thread.join(max(0.0, give_up - time.monotonic()))
