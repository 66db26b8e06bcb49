"""``python -m pytest_prodgate.demo``: what ``DemoService`` launches (port 0 by default)."""

from __future__ import annotations

import argparse
import sys

from pytest_prodgate.cli import CommandParser
from pytest_prodgate.demo.cli import add_arguments, run
from pytest_prodgate.errors import CommandLineError, ConfigError, ProdgateError
from pytest_prodgate.exitcodes import ExitCode


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="python -m pytest_prodgate.demo", description="Run the demo shop service")
    add_arguments(parser, default_port=0)
    parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    try:
        args = parser.parse_args(argv)
    except CommandLineError as exc:  # one line and exit 4, like ``prodgate demo``
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    try:
        return run(args)
    except ConfigError as exc:
        print(f"prodgate demo: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    except ProdgateError as exc:
        print(f"prodgate demo: {exc}", file=sys.stderr)
        return int(ExitCode.GATES_FAILED)


if __name__ == "__main__":
    sys.exit(main())
