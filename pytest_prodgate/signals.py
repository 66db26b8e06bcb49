"""SIGINT and SIGTERM handling shared by the long-running commands (``prodgate deploy``, ``prodgate watch``).

Python lets only the main thread install signal handlers; elsewhere (a test calling the engine from
a thread) nothing is installed and the defaults stay.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["install_stop_handlers", "restore_handlers"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def install_stop_handlers(handler: Callable[[int, FrameType | None], Any]) -> dict[int, Any]:
    """Route SIGINT and SIGTERM to ``handler``; the handlers they had, for ``restore_handlers``."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


def restore_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
