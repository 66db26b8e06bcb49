"""Real servers for the serving-stack check: each a subprocess on 127.0.0.1 and a free port.

Django's runserver, Werkzeug's development server and ``python -m http.server`` (development), gunicorn
and uvicorn (production). Each ``with`` block waits until the server answers and stops it (its whole
process group) at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from tests.waiting import wait_for

BIN = Path(sys.executable).parent
WSGI_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""
ASGI_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""
WERKZEUG_APP = """
import sys
from werkzeug.serving import run_simple
from werkzeug.wrappers import Response

run_simple("127.0.0.1", int(sys.argv[1]), lambda environ, start: Response("ok")(environ, start))
"""


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return False
    return True


def _workers_asked(command: list[str]) -> int:
    """The worker count a gunicorn or uvicorn command line asks for (``-w N``, ``--workers N``), else 0."""
    for flag in ("-w", "--workers"):
        if flag in command[:-1]:
            value = command[command.index(flag) + 1]
            return int(value) if value.isdigit() else 0
    return 0


@contextlib.contextmanager
def running(command: list[str], *, cwd: Path, port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``command`` in its own process group; yield its URL once it answers; stop the group."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(
            lambda: process.poll() is not None or _answers(url),
            deadline=120,
            interval=0.1,
            what=f"{command[0]} answering",
        )
        if process.poll() is not None:
            raise AssertionError(f"{' '.join(command)} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        workers = _workers_asked(command)
        if workers > 1:
            # The first worker answers before the others have booted (on a busy machine, seconds before):
            # the settings audit counts running workers, so wait until the master has them all.
            master = psutil.Process(process.pid)
            wait_for(
                lambda: process.poll() is not None or len(master.children()) >= workers,
                deadline=120,
                interval=0.1,
                what=f"{workers} workers of {command[0]}",
            )
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
        if process.stderr:
            process.stderr.close()


def app_dir(tmp_path: Path) -> Path:
    """A folder with ``wsgi_app.py``, ``asgi_app.py`` and ``werkzeug_app.py``."""
    folder = tmp_path / "apps"
    folder.mkdir(exist_ok=True)
    (folder / "wsgi_app.py").write_text(WSGI_APP)
    (folder / "asgi_app.py").write_text(ASGI_APP)
    (folder / "werkzeug_app.py").write_text(WERKZEUG_APP)
    return folder
