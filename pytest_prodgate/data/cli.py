"""``prodgate data RULES.toml --db URL``: run a rules file without pytest and print the verdicts.

Each rule is a gate of family ``data``, judged and decided by the core (``verdict.judge`` and
``verdict.decide_run``). Exit code 0 when the run passes (no blocking rule failed or errored, at
least one rule decided), 1 when it does not (a rule that could not run, e.g. against an unreachable
database, is an error with its reason), 4 for a mistake in the rules file or the options.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_prodgate.arguments import count, positive_duration
from pytest_prodgate.data.config import DEFAULT_SAMPLE_SIZE, DEFAULT_STATEMENT_TIMEOUT
from pytest_prodgate.errors import ConfigError, GateFailed, ProdgateError
from pytest_prodgate.exitcodes import ExitCode
from pytest_prodgate.gate import Gate, Severity
from pytest_prodgate.redact import mask_url
from pytest_prodgate.thresholds import parse_duration
from pytest_prodgate.verdict import GateEntry, Outcome, decide_run, judge

# The rules and the engine (SQLAlchemy) are imported in ``run``, so ``prodgate --help`` stays fast.
if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.data.result import RuleResult
    from pytest_prodgate.data.rules import Rule
    from pytest_prodgate.data.rulesfile import RuleEntry

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
        "--sample-size", type=count, default=DEFAULT_SAMPLE_SIZE, help="Offending rows shown per failed rule"
    )
    parser.add_argument(
        "--timeout",
        type=positive_duration,
        default=f"{DEFAULT_STATEMENT_TIMEOUT:g}s",
        help="Statement timeout per query, e.g. 30s",
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
    rules = [entry for path in args.rules for entry in load_rules(path)]
    gates: list[GateEntry] = []
    report: list[dict[str, Any]] = []
    with DataChecker(url, sample_size=args.sample_size, statement_timeout=timeout) as checker:
        print(f"prodgate data: {len(rules)} rules against {mask_url(checker.url_text)}")
        for entry in rules:
            rule = apply_overrides(entry.rule, args.env)
            try:
                result: RuleResult | None = checker.run(rule)
                error: ProdgateError | None = None
            except ProdgateError as exc:  # unreachable database, timeout, rejected query: the rule is an error
                result, error = None, exc
            gate = _judge(entry, rule, result, error)
            gates.append(gate)
            print(f"{gate.verdict.upper():8} {rule.id}  {gate.decided_by}")
            if gate.verdict != "pass" and gate.message.strip() != gate.decided_by:
                print("\n".join(("    " + line).rstrip() for line in gate.message.splitlines()))
            found = result.to_dict() if result else {"rule": rule.id, "type": rule.kind, "error": str(error)}
            report.append(
                {
                    **found,
                    "verdict": gate.verdict,
                    "severity": gate.severity,
                    "blocking": gate.blocking,
                    "where": entry.where,
                }
            )
    decision = decide_run(gates)
    blocking = len(decision.blocking)
    if args.json:
        summary = {"rules": report, "blocking_failures": blocking, "passed": decision.passed, "reason": decision.reason}
        args.json.write_text(json.dumps(summary, indent=2, default=str))
    last = f"prodgate data: {blocking} blocking failure{'s' if blocking != 1 else ''}"
    print(last if decision.passed or blocking else f"{last}; {decision.reason}")
    return int(ExitCode.OK if decision.passed else ExitCode.GATES_FAILED)


def _judge(entry: RuleEntry, rule: Rule, result: RuleResult | None, error: ProdgateError | None) -> GateEntry:
    """The rule's verdict, by the core's rules (``verdict.judge``), as a gate of family ``data``."""
    gate = Gate(name=rule.id, family="data", severity=Severity(rule.severity))
    nodeid = f"{entry.path}::{rule.id}"
    if result is None:
        # The rule never ran (like a gate whose setup failed): an error, whatever the reason.
        return judge(gate, Outcome.FAILED, nodeid=nodeid, in_call=False, error=error, message=str(error))
    gate.record_many(result.figures)
    if result.passed:
        return judge(gate, Outcome.PASSED, nodeid=nodeid, declared=result.results, duration=result.duration)
    message = result.message()
    return judge(
        gate,
        Outcome.FAILED,
        nodeid=nodeid,
        declared=result.results,
        error=GateFailed(message, result.results),
        message=message,
        duration=result.duration,
    )


if __name__ == "__main__":  # pragma: no cover
    from pytest_prodgate.cli import main

    sys.exit(main(["data", *sys.argv[1:]]))
