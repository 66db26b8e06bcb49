"""``prodgate demo``: run the demo shop in the foreground and print its address."""

from __future__ import annotations

import argparse
from typing import Any

from pytest_prodgate.arguments import port
from pytest_prodgate.demo.faults import KNOWN_FAULTS
from pytest_prodgate.exitcodes import ExitCode


def add_arguments(parser: argparse.ArgumentParser, *, default_port: int) -> None:
    """The options shared by ``prodgate demo`` and ``python -m pytest_prodgate.demo``."""
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=port,
        default=default_port,
        help=f"Port to listen on; 0 picks a free one (default {default_port})",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help=f"Switch a fault on (repeatable): {', '.join(KNOWN_FAULTS)}",
    )
    parser.add_argument("--db", metavar="PATH", help="SQLite file to create and seed (default a fresh temp file)")
    parser.add_argument(
        "--state-file", metavar="PATH", help="JSON file with version and faults, re-read when it changes"
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="Run the demo shop service in the foreground",
        description="Run the embedded demo shop (ASGI on uvicorn, seeded SQLite) with optional faults.",
    )
    add_arguments(parser, default_port=8000)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_prodgate.demo.server import serve  # uvicorn is imported only when the demo runs

    serve(
        host=args.host,
        port=args.port,
        faults=args.fault,
        db_path=args.db,
        state_file=args.state_file,
        parent_pid=getattr(args, "parent_pid", None),
    )
    return int(ExitCode.OK)
