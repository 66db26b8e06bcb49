"""Real parts for the ``prodgate watch`` tests: an HTTP receiver (which can hold requests), an SMTP
mailbox (aiosmtpd), a watcher running as a subprocess, and a tiny project whose one gate asks the
demo service whether it is ready.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.servers import free_port
from tests.waiting import wait_for

READY_GATE = """\
import time

import httpx
import pytest

URL = {url!r}


@pytest.mark.readiness
def test_demo_ready(gate):
    started = time.perf_counter()
    response = httpx.get(URL + "/health/ready", timeout=10)
    gate.record("latency", time.perf_counter() - started)
    assert response.status_code == 200, f"/health/ready answered {{response.status_code}}"
"""


class Receiver:
    """A real HTTP server on 127.0.0.1 keeping every JSON body POSTed to it.

    With ``hold=True`` it answers nothing until ``release()`` (or 60 s): a channel that hangs.
    """

    def __init__(self, *, hold: bool = False) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.pending = 0
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"null")
                receiver.received.append((self.path, body))
                if hold:
                    receiver.pending += 1
                    receiver.released.wait(60)
                    receiver.pending -= 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in list(self.received) if p == path]

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@contextmanager
def receiver(*, hold: bool = False) -> Iterator[Receiver]:
    server = Receiver(hold=hold)
    try:
        yield server
    finally:
        server.close()


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@contextmanager
def mailbox() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, box
    finally:
        controller.stop()


def write_project(root: Path, demo_url: str, toml: str) -> Path:
    (root / "gates").mkdir(parents=True, exist_ok=True)
    (root / "gates" / "test_demo.py").write_text(READY_GATE.format(url=demo_url))
    (root / "pyproject.toml").write_text(toml)
    return root


def switch_faults(state_file: Path, faults: list[str]) -> None:
    """Release the demo with these faults (it re-reads the state file when it changes)."""
    scratch = state_file.with_suffix(".tmp")
    scratch.write_text(json.dumps({"version": "1.0.0", "faults": faults}))
    scratch.replace(state_file)


class WatcherProcess:
    """``prodgate watch`` as a real subprocess, its output in a file."""

    def __init__(self, root: Path, *args: str) -> None:
        self.root = root
        self.log_path = root / f"watch-{len(list(root.glob('watch-*.log')))}.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest_prodgate", "watch", *args],
            cwd=root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def metrics_url(self) -> str:
        def found() -> str | None:
            for line in self.output().splitlines():
                if "metrics at " in line:
                    return line.rsplit("metrics at ", 1)[1].strip()
            return None

        url = wait_for(found, what="the metrics line")
        assert url is not None
        return url

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self.log.close()


def history(root: Path) -> list[dict[str, Any]]:
    path = root / ".prodgate" / "watch" / "history.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def status(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", "status", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
