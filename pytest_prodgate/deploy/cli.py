"""``prodgate deploy`` and ``prodgate history``: the deployment pipeline and its records on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pytest_prodgate.deploy.exitcodes import DeployExit

__all__ = ["register"]


def register(subparsers: Any) -> None:
    deploy = subparsers.add_parser(
        "deploy",
        help="Deploy gated on the pre-deploy gates, with backup, verification and automatic rollback",
        description="gates -> backup -> run -> verify; on failure rollback -> verify again. "
        "Configured in [tool.prodgate.deploy]; the flags override it. Exit codes: "
        + "; ".join(f"{int(c)} {c.meaning}" for c in DeployExit),
    )
    deploy.add_argument(
        "--env", metavar="NAME", help="Environment whose [tool.prodgate.environments.NAME] table applies"
    )
    deploy.add_argument("--config", metavar="PATH", type=Path, help="pyproject.toml to read (default: the nearest one)")
    deploy.add_argument("--gates", metavar="EXPR", help="Marker expression of the pre-deploy gates ('' skips them)")
    deploy.add_argument(
        "--backup", metavar="CMD", action="append", help="Backup command (repeatable); replaces the configured ones"
    )
    deploy.add_argument(
        "--sqlite-backup", metavar="PATH", action="append", help="SQLite database to back up (repeatable)"
    )
    deploy.add_argument("--run", metavar="CMD", help="The deploy command")
    deploy.add_argument("--verify", metavar="EXPR", help="Marker expression of the post-deploy verification")
    deploy.add_argument("--rollback", metavar="CMD", action="append", help="Rollback command (repeatable)")
    deploy.add_argument("--health-url", metavar="URL", help="URL polled until it answers 2xx before verification")
    deploy.add_argument("--target", metavar="NAME", help="Name of what is deployed to (one deployment per target)")
    deploy.add_argument(
        "--dry-run", action="store_true", help="Show the plan and run the pre-deploy gates; change nothing"
    )
    deploy.add_argument(
        "--force", action="store_true", help="Take over a stale lock left by a dead deployment and mark it killed"
    )
    deploy.add_argument(
        "--rollback-last",
        action="store_true",
        help="Run the configured rollback for the last killed or failed deployment, with its backup",
    )
    deploy.add_argument(
        "--wait", metavar="SECONDS", type=float, default=0.0, help="Wait up to this long for a held lock"
    )
    deploy.add_argument("-q", "--quiet", action="store_true", help="Do not echo the steps' output")
    deploy.set_defaults(handler=run_deploy)

    history = subparsers.add_parser(
        "history",
        help="List past deployments, or show one",
        description="List the deployment records, newest first, or show one by id.",
    )
    history.add_argument("id", nargs="?", help="Deployment id (or its unambiguous beginning)")
    history.add_argument("--env", metavar="NAME", help="Environment whose configuration names the records folder")
    history.add_argument(
        "--config", metavar="PATH", type=Path, help="pyproject.toml to read (default: the nearest one)"
    )
    history.add_argument("--limit", type=int, default=20, help="How many deployments to list (default 20)")
    history.add_argument("--json", action="store_true", help="Print JSON instead of text")
    history.set_defaults(handler=run_history)


def load_settings(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Any:
    from pytest_prodgate.config import load_project
    from pytest_prodgate.deploy.config import DeploySettings

    config, path, root = load_project(args.config, args.env)
    return DeploySettings.from_section(
        config.section("deploy"),
        root=root,
        environment=config.environment,
        overrides=overrides,
        where=f"{path}, [tool.prodgate.deploy]" if path else "[tool.prodgate.deploy]",
        alerts=config.section("alerts"),
        alerts_where=f"{path}, [tool.prodgate.alerts]" if path else "[tool.prodgate.alerts]",
    )


def run_deploy(args: argparse.Namespace) -> int:
    from pytest_prodgate.deploy.pipeline import Deployment

    if args.wait < 0:
        print("prodgate: error: --wait must be 0 or more seconds", file=sys.stderr)
        return int(DeployExit.USAGE_ERROR)
    overrides = {
        "gates": args.gates,
        "backup": args.backup,
        "sqlite_backup": args.sqlite_backup,
        "run": args.run,
        "verify": args.verify,
        "rollback": args.rollback,
        "health_url": args.health_url,
        "target": args.target,
        "dry_run": args.dry_run or None,
        "force": args.force or None,
        "wait": args.wait,
        "quiet": args.quiet or None,
    }
    settings = load_settings(args, overrides)
    if args.rollback_last:
        if settings.dry_run:
            print("prodgate: error: --rollback-last cannot be a dry run", file=sys.stderr)
            return int(DeployExit.USAGE_ERROR)
        return int(Deployment(settings).rollback_last())
    if not settings.run and not settings.dry_run:
        print(
            "prodgate: error: nothing to deploy: set run in [tool.prodgate.deploy] or pass --run CMD", file=sys.stderr
        )
        return int(DeployExit.USAGE_ERROR)
    return int(Deployment(settings).run())


def run_history(args: argparse.Namespace) -> int:
    from pytest_prodgate.deploy.record import format_history, format_record, list_records, load_record, seen_as

    settings = load_settings(args)
    if args.id:
        try:
            record = load_record(settings.records_dir, args.id)
        except FileNotFoundError as exc:
            print(f"prodgate: error: {exc}", file=sys.stderr)
            return int(DeployExit.USAGE_ERROR)
        lines = [json.dumps(seen_as(record), indent=2)] if args.json else format_record(record)
    else:
        records = list_records(settings.records_dir, args.limit)
        if args.json:
            lines = [json.dumps([seen_as(r) for r in records], indent=2)]
        elif not records:
            lines = [f"no deployments recorded in {settings.records_dir}"]
        else:
            lines = format_history(records)
    for line in lines:
        print(line)
    return 0
