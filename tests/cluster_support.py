"""A real Dask cluster for the distributed load tests: ``dask scheduler`` and ``dask worker`` subprocesses.

Everything listens on 127.0.0.1 and a free port (the scheduler picks its own, port 0, and says it
in its scheduler file). Workers run one thread in one process each, without the dashboard.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.waiting import wait_for

__all__ = ["DaskCluster", "dask_cluster"]


def _dask() -> list[str]:
    found = shutil.which("dask", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "dask"]


class DaskCluster:
    """A scheduler and its workers, each a subprocess; ``address`` is the scheduler's."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen[bytes]] = []
        self.address = ""
        self._client: Any = None

    def start_scheduler(self) -> None:
        file = self.folder / "scheduler.json"
        log = open(self.folder / "scheduler.log", "wb")  # noqa: SIM115 - closed with the process
        self.processes.append(
            subprocess.Popen(
                [*_dask(), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
                + ["--scheduler-file", str(file)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        wait_for(lambda: file.exists() and file.stat().st_size > 0, what="the Dask scheduler's file")
        self.address = wait_for(lambda: json.loads(file.read_text()).get("address"), what="the scheduler address")

    def start_worker(self, *extra: str, nanny: bool = True) -> subprocess.Popen[bytes]:
        index = len(self.processes)
        log = open(self.folder / f"worker{index}.log", "wb")  # noqa: SIM115 - closed with the process
        args = [*_dask(), "worker", self.address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1"]
        args += ["--no-dashboard", *([] if nanny else ["--no-nanny"]), *extra]
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    @property
    def client(self) -> Any:
        if self._client is None:
            from distributed import Client

            self._client = Client(self.address, timeout=30, set_as_default=False)
        return self._client

    def wait_for_workers(self, count: int) -> list[str]:
        self.client.wait_for_workers(count, timeout=90)
        wait_for(lambda: len(self.client.nthreads()) == count, deadline=90, what=f"{count} Dask workers")
        return sorted(self.client.nthreads())

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> the pid of the process that runs its tasks (under a nanny, not the nanny's)."""
        return dict(self.client.run(os.getpid))

    def close(self) -> None:
        if self._client is not None:
            self._client.close(timeout=10)
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@contextmanager
def dask_cluster(folder: Path, workers: int = 2, worker_args: Sequence[Sequence[str]] = ()) -> Iterator[DaskCluster]:
    """A scheduler and ``workers`` workers (``worker_args[i]`` adds options to worker ``i``), all up."""
    cluster = DaskCluster(folder)
    try:
        cluster.start_scheduler()
        for i in range(workers):
            cluster.start_worker(*(worker_args[i] if i < len(worker_args) else ()))
        cluster.wait_for_workers(workers)
        yield cluster
    finally:
        cluster.close()
