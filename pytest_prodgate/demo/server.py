"""Running the demo: ``serve`` in the foreground, ``DemoService`` to run it as a child process.

``serve`` binds its own socket (port 0 picks a free one), prints exactly one line to stdout::

    prodgate demo listening on http://127.0.0.1:PORT (database sqlite:////abs/path.db, pid N)

and serves until SIGTERM or SIGINT, then shuts down cleanly. ``DemoService.start`` launches
``python -m pytest_prodgate.demo`` and waits for that line.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

import uvicorn

from pytest_prodgate.demo.app import DemoApp
from pytest_prodgate.demo.db import Catalogue, create_database
from pytest_prodgate.demo.faults import FaultTuning, faults_from_env, parse_faults
from pytest_prodgate.demo.state import StateFile
from pytest_prodgate.errors import TargetError

LISTENING = re.compile(
    r"^prodgate demo listening on (?P<url>http://\S+) \(database (?P<database_url>sqlite:///(?P<path>.+)), pid (?P<pid>\d+)\)$"
)


def database_url(path: Path) -> str:
    """SQLAlchemy's form for an absolute SQLite path: ``sqlite:////abs/path.db``."""
    return f"sqlite:///{path.resolve()}"


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Iterable[str] = (),
    db_path: str | Path | None = None,
    state_file: str | Path | None = None,
    *,
    out: IO[str] | None = None,
    parent_pid: int | None = None,
) -> None:
    """Seed the database, listen on ``host:port``, announce the address and serve until signalled.

    With ``parent_pid``, also stop (cleanly) once that process is gone, so an abandoned demo never lingers.
    """
    chosen = parse_faults(faults) | faults_from_env()
    tuning = FaultTuning.from_env()
    state = StateFile(Path(state_file).resolve() if state_file else None, chosen)
    sock = _listen(host, port)
    owned = db_path is None  # a temp database is ours to delete at the end
    if db_path is None:
        handle, name = tempfile.mkstemp(prefix="prodgate-demo-", suffix=".db")
        os.close(handle)
        path = Path(name)
    else:
        path = Path(db_path).resolve()
    catalogue: Catalogue | None = None
    try:
        create_database(path)
        catalogue = Catalogue(path)
        app = DemoApp(catalogue, state, tuning)
        config = uvicorn.Config(
            app,
            http="httptools",
            loop="auto",
            lifespan="on",
            server_header=False,
            date_header=True,
            access_log=False,
            log_level="warning",
        )
        bound_port = sock.getsockname()[1]
        url = f"http://[{host}]:{bound_port}" if ":" in host else f"http://{host}:{bound_port}"
        line = f"prodgate demo listening on {url} (database {database_url(path)}, pid {os.getpid()})"
        server = _AnnouncingServer(config, line, out or sys.stdout, parent_pid)
        # uvicorn re-raises the signal that stopped it once it has shut down; make that a no-op so we exit 0.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, server.handle_exit)
        server.run(sockets=[sock])
    finally:
        sock.close()
        if catalogue is not None:
            catalogue.close()
        if owned:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise TargetError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints the address line once it accepts connections."""

    def __init__(self, config: uvicorn.Config, line: str, out: IO[str], parent_pid: int | None = None) -> None:
        super().__init__(config)
        self.line = line
        self.out = out
        self.parent_pid = parent_pid

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(self.line, file=self.out, flush=True)

    async def on_tick(self, counter: int) -> bool:
        # Called every 0.1 s; a re-parented child means whoever started us is gone.
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            print(f"prodgate demo: parent process {self.parent_pid} is gone; stopping", file=sys.stderr, flush=True)
            return True
        return await super().on_tick(counter)


class DemoService:
    """The demo service running as a child process; a context manager that stops it on exit."""

    def __init__(
        self, process: subprocess.Popen[bytes], base_url: str, db_path: Path, *, owned_db: bool, stderr: IO[bytes]
    ) -> None:
        self.process = process
        self.base_url = base_url
        self.pid = process.pid
        self.db_path = db_path
        self.database_url = database_url(db_path)
        self._owned_db = owned_db
        self._stderr = stderr

    @classmethod
    def start(
        cls,
        faults: Iterable[str] = (),
        db_path: str | Path | None = None,
        state_file: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 20.0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        exit_with_parent: bool = False,
    ) -> DemoService:
        """Launch ``python -m pytest_prodgate.demo`` and wait (bounded) for its address line.

        ``exit_with_parent``: the child stops by itself once this process is gone (even if killed).
        """
        command = [sys.executable, "-m", "pytest_prodgate.demo", "--host", host, "--port", str(port)]
        if exit_with_parent:
            command += ["--parent-pid", str(os.getpid())]
        for name in faults:
            command += ["--fault", name]
        if db_path is not None:
            command += ["--db", str(Path(db_path).resolve())]
        if state_file is not None:
            command += ["--state-file", str(Path(state_file).resolve())]
        child_env = {**os.environ, **(env or {})}
        # Unlinked temp files, not pipes: nobody reads the child's output after startup (a full pipe would
        # block it), and nothing is left on disk even if the service is never stopped.
        out_log, err_log = _unlinked_log(), _unlinked_log()
        process = subprocess.Popen(command, stdout=out_log, stderr=err_log, stdin=subprocess.DEVNULL, env=child_env)
        match = _wait_for_line(process, out_log, startup_timeout)
        out_log.close()
        if match is None:
            tail = _tail(err_log)
            err_log.close()
            _terminate(process)
            why = (
                f"it exited with code {process.returncode}"
                if process.returncode is not None
                else f"no address line within {startup_timeout:g}s"
            )
            raise TargetError(f"the demo service did not start ({why}): {tail}")
        return cls(process, match["url"], Path(match["path"]), owned_db=db_path is None, stderr=err_log)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stderr_text(self) -> str:
        """Everything the child wrote to stderr so far (warnings, tracebacks)."""
        if self._stderr.closed:
            return ""
        return _read_all(self._stderr).decode("utf-8", errors="replace")

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, wait up to ``timeout`` seconds, then kill; return the exit code."""
        code = _terminate(self.process, timeout)
        if self._owned_db:  # the child deletes it on a clean exit; not when killed
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
        self._stderr.close()
        return code

    def __enter__(self) -> DemoService:  # noqa: PYI034 - typing.Self needs Python 3.11
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<DemoService {self.base_url} pid={self.pid} running={self.running}>"


def _unlinked_log() -> IO[bytes]:
    """A temp file already unlinked, in append mode: the child writes, we read with ``pread`` (no shared offset)."""
    handle, name = tempfile.mkstemp(prefix="prodgate-demo-", suffix=".log")
    os.unlink(name)
    fcntl.fcntl(handle, fcntl.F_SETFL, fcntl.fcntl(handle, fcntl.F_GETFL) | os.O_APPEND)
    return os.fdopen(handle, "r+b", buffering=0)


def _read_all(log: IO[bytes]) -> bytes:
    fd = log.fileno()
    return os.pread(fd, os.fstat(fd).st_size, 0)


def _wait_for_line(process: subprocess.Popen[bytes], out: IO[bytes], timeout: float) -> re.Match[str] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = _read_all(out).decode("utf-8", errors="replace")
        if "\n" in text:
            return LISTENING.match(text.split("\n", 1)[0])
        if process.poll() is not None:
            return None
        time.sleep(0.02)
    return None


def _terminate(process: subprocess.Popen[bytes], timeout: float = 5.0) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


def _tail(log: IO[bytes], lines: int = 5) -> str:
    text = _read_all(log).decode("utf-8", errors="replace").strip()
    return " | ".join(text.splitlines()[-lines:]) or "(no output)"
