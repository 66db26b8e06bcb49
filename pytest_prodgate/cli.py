"""The ``prodgate`` command: a thin dispatcher over the subcommands of each capability.

Each subcommand lives beside its engine (``demo/cli.py``, ``performance/cli.py``, ...) and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` (``args -> int``) as a default.
Every mistake on the command line is a usage error (exit 4) on one line, ``prodgate CMD: error: ...``,
whichever subcommand it is in: the parsers are all ``CommandParser``, and ``main`` reports.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from pytest_prodgate import __version__  # noqa: I001
from pytest_prodgate.errors import CommandLineError, ConfigError, ProdgateError
from pytest_prodgate.exitcodes import ExitCode
from pytest_prodgate.families import CAPABILITIES

# Modules that register a subcommand (from the one table of capabilities); each only if installed.
SUBCOMMAND_MODULES = tuple(c.cli for c in CAPABILITIES if c.cli)


class CommandParser(argparse.ArgumentParser):
    """The parser of ``prodgate`` and, as argparse makes subparsers of their parent's class, of every subcommand.

    ``error`` raises ``CommandLineError`` instead of printing the usage and exiting 2, so ``main`` turns
    it into one line and exit 4. An option that takes one value takes the next word even when it starts
    with a dash (``--duration -5s``), as getopt and Click do: argparse would read ``-5s`` as an unknown
    option and say "expected one argument"; this way the value reaches the validation, which names the
    option and says what is wrong with it. A word that is one of the command's options stays an option
    (``--duration --quiet`` is still a missing value).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exit_on_error", False)  # argparse raises ArgumentError; parse_known_args words it
        super().__init__(*args, **kwargs)
        # The deepest subcommand's default wins, so after parsing this names the command that ran.
        self.set_defaults(command_prog=self.prog)

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(message, prog=self.prog)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        try:
            return super().parse_known_args(self._attach_dashed_values(words), namespace)
        except argparse.ArgumentError as exc:
            self.error(self._describe(exc))

    def _describe(self, exc: argparse.ArgumentError) -> str:
        """argparse's words, or ``--timeout '-5s': ...`` for a value judged by ``pytest_prodgate.arguments``.

        Those types start their messages with the value given (argparse's own never start with a quote).
        """
        names = (exc.argument_name or "").split("/")
        action = self._option(names[0])
        judged = action is not None and getattr(action.type, "__module__", None) == "pytest_prodgate.arguments"
        if judged and exc.message.startswith("'"):
            return f"{names[0]} {exc.message}"
        return str(exc)

    def _option(self, word: str) -> argparse.Action | None:
        """The action of one of this parser's options spelt ``word`` (or its unambiguous beginning)."""
        options = self._option_string_actions
        if word in options:
            return options[word]
        if self.allow_abbrev and word.startswith("--") and len(word) > 2:
            found = {action for name, action in options.items() if name.startswith(word)}
            if len(found) == 1:
                return found.pop()
        return None

    def _attach_dashed_values(self, words: list[str]) -> list[str]:
        """``--opt -5s`` as ``--opt=-5s`` for this parser's one-value options; the rest unchanged."""
        out: list[str] = []
        i = 0
        while i < len(words):
            word = words[i]
            if word == "--" or (self._subparsers is not None and not word.startswith("-")):
                out.extend(words[i:])  # the rest is positional, or belongs to the subcommand's parser
                break
            action = self._option(word)
            if action is not None and action.nargs is None and action.option_strings and i + 1 < len(words):
                value = words[i + 1]
                if value.startswith("-") and value != "--" and self._option(value.partition("=")[0]) is None:
                    name = next(o for o in action.option_strings if o.startswith(word))  # spelt out if abbreviated
                    out.append(f"{name}={value}")
                    i += 2
                    continue
            out.append(word)
            i += 1
        return out


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="prodgate",
        description="Production gates from the command line: readiness, data, load and health checks, gated deploys, watching production",
    )
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
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported by the subcommand they were given to, not by the top parser
            raise CommandLineError(f"unrecognized arguments: {' '.join(extra)}", prog=args.command_prog)
    except CommandLineError as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return int(ExitCode.USAGE_ERROR)
    try:
        return int(handler(args))
    except ConfigError as exc:
        print(f"{args.command_prog}: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    except ProdgateError as exc:
        print(f"prodgate: {exc}", file=sys.stderr)
        return int(ExitCode.GATES_FAILED)
    except KeyboardInterrupt:
        print("prodgate: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
