"""``prodgate readiness``: run the readiness checks of ``[tool.prodgate.readiness]`` without pytest.

Prints one block per check (its verdict, then one line per problem) and exits 0 when every check
passed, 1 when one failed or could not run, 4 on a configuration mistake. ``--json`` prints the
results as JSON instead (secrets masked like everywhere else).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from pytest_prodgate.exitcodes import ExitCode
from pytest_prodgate.thresholds import Verdict


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "readiness",
        help="Run the readiness checks switched on in [tool.prodgate.readiness]",
        description="Run readiness checks (environment, Django, databases, Redis, dependencies, lint, "
        "coverage, system resources, the serving stack) and print one line per problem.",
    )
    parser.add_argument("--config", metavar="PATH", default="pyproject.toml", help="The pyproject.toml to read")
    parser.add_argument("--env", dest="environment", metavar="NAME", help="Environment whose table applies")
    parser.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="NAME",
        help="Run this check (repeatable; default: the checks switched on in the configuration)",
    )
    parser.add_argument("--database-url", metavar="URL", help="Database for the database and alembic checks")
    parser.add_argument("--base-url", metavar="URL", help="Target of the serving check (unless its table names a url)")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_prodgate.config import load_config
    from pytest_prodgate.errors import ConfigError
    from pytest_prodgate.readiness.config import CHECK_NAMES, enabled_checks
    from pytest_prodgate.readiness.runner import run_checks

    path = Path(args.config)
    config = load_config(path, args.environment)
    section = config.section("readiness")
    names = [n for name in args.check for n in (enabled_checks({"checks": [name]}) if name == "django" else [name])]
    names = names or enabled_checks(section)
    if not names:
        raise ConfigError(
            f"no readiness check is switched on in {path}: set [tool.prodgate.readiness] checks "
            f"or pass --check (one of {', '.join(CHECK_NAMES)})"
        )
    database_url = args.database_url or os.environ.get("PRODGATE_DATABASE_URL") or config.get("database_url")
    results = run_checks(
        names,
        section,
        root=path.resolve().parent,
        database_url=database_url,
        secret_names=config.get("secrets", []),
        base_url=args.base_url,
    )
    if args.json:
        print(json.dumps({name: result.to_dict() for name, result in results.items()}, indent=2))
    else:
        said: dict[str, str] = {}  # reason -> the first check that gave it (the Django checks share one probe)
        for name, result in results.items():
            tail = f"  {result.summary}" if result.passed and result.summary else ""
            print(f"readiness::{name} {result.verdict.value.upper()}{tail}")
            lines = result.lines()
            if result.error and result.error in said:
                lines = [
                    f"[{name}.error] could not run: the same reason as readiness::{said[result.error]}",
                    *lines[1:],
                ]
            elif result.error:
                said[result.error] = name
            for line in lines:
                print(f"  - {line}")
    passed = all(result.verdict is Verdict.PASS for result in results.values())
    return int(ExitCode.OK if passed else ExitCode.GATES_FAILED)
