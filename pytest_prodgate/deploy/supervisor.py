"""The supervisor of one step: holds the step's process group and kills it when the deploy dies.

``prodgate deploy`` starts every step as ``python -I -S supervisor.py WATCH_FD REPORT_FD -- ARGV...``
in a new session, so the supervisor's pid is the step's process group. The supervisor starts the
command in that group, writes ``pid N`` (or ``error: why``) to ``REPORT_FD`` and waits. ``WATCH_FD`` is
the read end of a pipe whose only write end the deploy process holds: the kernel closes it however
the deploy ends (exit, SIGKILL, the OOM killer), so end-of-file there means "the deploy is gone" and
the supervisor SIGKILLs the whole group, itself included; grandchildren die with it. On Linux the
command also gets ``PR_SET_PDEATHSIG`` = SIGKILL, so it dies if the supervisor itself is killed.

When the command ends on its own, the supervisor ends the same way (exit code, or the same signal);
what the command left running in the group (a service it started) is left alone.
This file runs without the package (``-I -S``, standard library only), so it starts fast.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when its parent (this supervisor) dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    prctl = libc.prctl

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return preexec


def _forward(signum: int, frame: object) -> None:
    """SIGTERM/SIGINT reach the command as a group member; the supervisor waits to see how it ends."""


def supervise(watch_fd: int, report_fd: int, argv: Sequence[str]) -> int:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _forward)  # a handler, not SIG_IGN: the command gets default dispositions
    try:
        child = subprocess.Popen(list(argv), preexec_fn=_die_with_parent())
    except OSError as exc:
        os.write(report_fd, f"error: could not start: {exc.strerror or exc}\n".encode())
        os.close(report_fd)
        return 127
    os.write(report_fd, f"pid {child.pid}\n".encode())
    os.close(report_fd)
    while child.poll() is None:
        try:
            readable, _, _ = select.select([watch_fd], [], [], 0.1)
        except InterruptedError:  # pragma: no cover - PEP 475 retries select
            continue
        if readable and not os.read(watch_fd, 64):
            os.killpg(0, signal.SIGKILL)  # the deploy is gone: the whole group goes, this process too
    code = child.returncode
    if code < 0:  # end the way the command ended, so the deploy sees "killed by signal N"
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def main(args: Sequence[str]) -> int:
    watch_fd, report_fd, separator, *argv = args
    if separator != "--" or not argv:
        print("usage: supervisor.py WATCH_FD REPORT_FD -- ARGV...", file=sys.stderr)
        return 2
    return supervise(int(watch_fd), int(report_fd), argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
