"""``prodgate report comment r.json [--baseline base.json]``: the pull-request comment body, from gate reports.

The CI templates (``ci/``) post what this prints as the job summary and as one pull-request comment
(updated in place: the body starts with ``markdown.MARKER``). A report written with
``--prodgate-baseline`` already carries its deltas; ``--baseline`` adds them to one written without.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pytest_prodgate.errors import ConfigError, ProdgateError
from pytest_prodgate.exitcodes import ExitCode

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="Turn JSON gate reports into a pull-request comment",
        description="Work with JSON gate reports (pytest --prodgate-json PATH).",
    )
    commands = parser.add_subparsers(dest="report_command", metavar="COMMAND")
    comment = commands.add_parser(
        "comment",
        help="Print the Markdown pull-request comment for a gate report",
        description="Print the Markdown comment body (gate table, changes against the baseline, failures).",
    )
    comment.add_argument(
        "reports", metavar="REPORT", nargs="+", help="The JSON gate reports of this run (several make one comment)"
    )
    comment.add_argument(
        "--baseline",
        metavar="PATH",
        action="append",
        default=[],
        help="A JSON gate report to compare with, e.g. main's (repeat for several)",
    )
    comment.add_argument("--output", "-o", metavar="PATH", default=None, help="Write the body to PATH, not stdout")
    comment.add_argument("--max-rows", type=int, default=50, help="Rows of each table before it is cut")
    comment.set_defaults(handler=comment_command)
    parser.set_defaults(handler=lambda args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return int(ExitCode.USAGE_ERROR)


def comment_command(args: argparse.Namespace) -> int:
    """Print (or write) the comment body; exit 0 once written, whatever the gates decided."""
    from pytest_prodgate.report.deltas import attach_baseline, combine_reports
    from pytest_prodgate.report.jsonreport import read_report, write_atomically
    from pytest_prodgate.report.markdown import render_markdown

    try:
        report = combine_reports([read_report(path) for path in args.reports])
    except ProdgateError as exc:  # a missing or foreign file is a mistake on the command line
        raise ConfigError(str(exc)) from None
    if args.baseline:
        report = attach_baseline(report, args.baseline)
    text = render_markdown(report, max_rows=args.max_rows)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return int(ExitCode.OK)
