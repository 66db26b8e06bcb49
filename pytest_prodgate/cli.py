"""The ``prodgate`` command: a thin dispatcher over the subcommands of each capability.

Each subcommand lives beside its engine (``demo/cli.py``, ``performance/cli.py``, ...) and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` (``args -> int``) as a default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pytest_prodgate import __version__  # noqa: I001
from pytest_prodgate.errors import ConfigError, ProdgateError
from pytest_prodgate.exitcodes import ExitCode
from pytest_prodgate.families import CAPABILITIES

# Modules that register a subcommand (from the one table of capabilities); each only if installed.
SUBCOMMAND_MODULES = tuple(c.cli for c in CAPABILITIES if c.cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prodgate", description="Production gates: demo service, load tests, deploys")
    parser.add_argument("--version", action="version", version=f"prodgate {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that capability is not part of this build
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return int(ExitCode.USAGE_ERROR)
    try:
        return int(handler(args))
    except ConfigError as exc:
        print(f"prodgate: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    except ProdgateError as exc:
        print(f"prodgate: {exc}", file=sys.stderr)
        return int(ExitCode.GATES_FAILED)
    except KeyboardInterrupt:
        print("prodgate: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
