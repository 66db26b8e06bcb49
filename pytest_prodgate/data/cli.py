"""``prodgate data RULES.toml --db URL``: run a rules file without pytest and print the verdicts.

Exit code 0 when no blocking rule failed, 1 when one did (or the database could not be reached),
4 for a mistake in the rules file or the options.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_prodgate.data.config import DEFAULT_SAMPLE_SIZE, DEFAULT_STATEMENT_TIMEOUT
from pytest_prodgate.errors import ConfigError, ProdgateError
from pytest_prodgate.exitcodes import ExitCode
from pytest_prodgate.gate import Gate
from pytest_prodgate.redact import mask_url
from pytest_prodgate.thresholds import Verdict, parse_duration

# The rules and the engine (SQLAlchemy) are imported in ``run``, so ``prodgate --help`` stays fast.
if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.data.result import RuleResult

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "data",
        help="Run data rules from a rules file against a database",
        description="Run the data rules of a TOML or YAML rules file inside a database and print each verdict",
    )
    parser.add_argument("rules", nargs="+", type=Path, metavar="RULES", help="Rules file (.toml, .yaml or .yml)")
    parser.add_argument(
        "--db", metavar="URL", default=None, help="SQLAlchemy database URL (default: $PRODGATE_DATABASE_URL)"
    )
    parser.add_argument("--env", metavar="NAME", default=None, help="Environment whose per-rule overrides apply")
    parser.add_argument(
        "--sample-size", type=int, default=DEFAULT_SAMPLE_SIZE, help="Offending rows shown per failed rule"
    )
    parser.add_argument(
        "--timeout", default=f"{DEFAULT_STATEMENT_TIMEOUT:g}s", help="Statement timeout per query, e.g. 30s"
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="Also write the results as JSON to PATH"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_prodgate.data.rulesfile import apply_overrides, load_rules
    from pytest_prodgate.data.runner import DataChecker

    url = args.db or os.environ.get("PRODGATE_DATABASE_URL")
    if not url:
        raise ConfigError("no database: pass --db URL or set PRODGATE_DATABASE_URL")
    try:
        timeout = parse_duration(args.timeout, what="--timeout")
    except ProdgateError:
        raise ConfigError(f"--timeout {args.timeout!r} is not a duration. Expected e.g. 30s") from None
    entries = [entry for path in args.rules for entry in load_rules(path)]
    blocking_failures = 0
    report: list[dict[str, Any]] = []
    with DataChecker(url, sample_size=args.sample_size, statement_timeout=timeout) as checker:
        print(f"prodgate data: {len(entries)} rules against {mask_url(checker.url_text)}")
        for entry in entries:
            rule = apply_overrides(entry.rule, args.env)
            try:
                result: RuleResult | None = checker.run(rule)
                error = None
            except ProdgateError as exc:
                result, error = None, str(exc)
            verdict = _verdict(result, error, rule.severity)
            if verdict in (Verdict.FAIL, Verdict.ERROR) and rule.severity == "blocking":
                blocking_failures += 1
            print(f"{verdict.value.upper():8} {rule.id}  {_decided(result, error)}")
            if verdict is not Verdict.PASS:
                detail = error if error else result.message() if result else ""
                print("\n".join(("    " + line).rstrip() for line in detail.splitlines()))
            entry_data = result.to_dict() if result else {"rule": rule.id, "type": rule.kind, "error": error}
            report.append({**entry_data, "verdict": verdict.value, "severity": rule.severity, "where": entry.where})
    if args.json:
        args.json.write_text(
            json.dumps({"rules": report, "blocking_failures": blocking_failures}, indent=2, default=str)
        )
    print(f"prodgate data: {blocking_failures} blocking failure{'s' if blocking_failures != 1 else ''}")
    return int(ExitCode.GATES_FAILED if blocking_failures else ExitCode.OK)


def _verdict(result: RuleResult | None, error: str | None, severity: str) -> Verdict:
    if result is None:
        return Verdict.ERROR
    if result.verdict is Verdict.FAIL and severity == "warning":
        return Verdict.WARNING
    return result.verdict


def _decided(result: RuleResult | None, error: str | None) -> str:
    if result is None:
        return (error or "").splitlines()[0] if error else ""
    gate = Gate(name=result.rule.id, figures=dict(result.figures))
    return gate.deciding_figure(result.results)


if __name__ == "__main__":  # pragma: no cover
    from pytest_prodgate.cli import main

    sys.exit(main(["data", *sys.argv[1:]]))
