"""The embedded demo service: a small shop (raw ASGI on uvicorn, seeded SQLite) with switchable faults.

Plain Python, never imports pytest. ``DemoService.start()`` runs it as a child process; ``serve()``
runs it in this process; ``prodgate demo`` runs it in the foreground.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_prodgate.demo.faults import BAD_DATA, BAD_DATA_QUERIES, BAD_DATA_ROWS, KNOWN_FAULTS, parse_faults

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.demo.server import DemoService, serve

__all__ = ["BAD_DATA", "BAD_DATA_QUERIES", "BAD_DATA_ROWS", "KNOWN_FAULTS", "DemoService", "parse_faults", "serve"]


def __getattr__(name: str) -> Any:
    # The server pulls in uvicorn; import it only when asked for.
    if name in ("DemoService", "serve"):
        from pytest_prodgate.demo import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
