"""``prodgate watch`` (run the gates on a schedule, alert, serve metrics) and ``prodgate status``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pytest_prodgate.arguments import count, duration, port, positive_duration
from pytest_prodgate.exitcodes import ExitCode

__all__ = ["load_settings", "register"]


def register(subparsers: Any) -> None:
    watch = subparsers.add_parser(
        "watch",
        help="Run the gates on a schedule against production: state, alerts, history and metrics",
        description="Runs the selected gates every interval (each cycle a fresh pytest run), keeps each gate's "
        "state, alerts on changes through [tool.prodgate.alerts], appends a history and can serve /metrics. "
        "Configured in [tool.prodgate.watch]; the flags override it.",
    )
    _common(watch)
    watch.add_argument("-m", dest="marker", metavar="EXPR", help="Marker expression of the watched gates")
    watch.add_argument(
        "--every", type=positive_duration, metavar="DURATION", help="Interval between cycles (default 60s)"
    )
    watch.add_argument(
        "--cycle-timeout",
        type=positive_duration,
        metavar="DURATION",
        help="A cycle running longer is killed (default 5m)",
    )
    watch.add_argument(
        "--jitter", type=duration, metavar="DURATION", help="Delay the first cycle by a random time up to this"
    )
    watch.add_argument("--metrics-port", type=port, metavar="PORT", help="Serve /metrics on this port (0: a free one)")
    watch.add_argument("--metrics-host", metavar="HOST", help="Address of /metrics (default 127.0.0.1)")
    watch.add_argument("--cycles", type=count, metavar="N", help="Stop after N cycles (default: run until stopped)")
    watch.add_argument(
        "--pytest-arg", dest="pytest_arg", action="append", metavar="ARG", help="Extra pytest argument (repeatable)"
    )
    watch.add_argument(
        "--test-alerts", action="store_true", help="Send a test message through every alert channel and report each"
    )
    watch.set_defaults(handler=run_watch)

    status = subparsers.add_parser(
        "status",
        help="Each watched gate's state, since when, last reason, figures and availability",
        description="Reads the state file and history of prodgate watch ([tool.prodgate.watch] state_dir).",
    )
    _common(status)
    status.add_argument("--json", action="store_true", help="Print JSON instead of a table")
    status.set_defaults(handler=run_status)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prodgate-env",
        "--env",
        dest="env",
        metavar="NAME",
        help="Environment whose [tool.prodgate.environments.NAME] applies",
    )
    parser.add_argument("--config", metavar="PATH", type=Path, help="pyproject.toml to read (default: the nearest one)")
    parser.add_argument(
        "--state-dir", metavar="PATH", help="Folder of the state file and history (default .prodgate/watch)"
    )


def load_settings(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Any:
    from pytest_prodgate.config import load_project
    from pytest_prodgate.watch.config import WatchSettings

    config, path, root = load_project(args.config, args.env)
    return WatchSettings.from_sections(
        config.section("watch"),
        config.section("alerts"),
        root=root,
        environment=config.environment,
        overrides={"state_dir": args.state_dir, **(overrides or {})},
        where=f"{path}, [tool.prodgate.watch]" if path else "[tool.prodgate.watch]",
        alerts_where=f"{path}, [tool.prodgate.alerts]" if path else "[tool.prodgate.alerts]",
    )


def run_watch(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {
        "marker": args.marker,
        "every": args.every,
        "cycle_timeout": args.cycle_timeout,
        "jitter": args.jitter,
        "metrics_port": args.metrics_port,
        "metrics_host": args.metrics_host,
    }
    settings = load_settings(args, overrides)
    if args.pytest_arg:
        from dataclasses import replace

        settings = replace(settings, pytest_args=(*settings.pytest_args, *args.pytest_arg))
    if args.test_alerts:
        return test_alerts(settings)
    from pytest_prodgate.watch.scheduler import Watcher

    return Watcher(settings, cycles=args.cycles).run()


def test_alerts(settings: Any) -> int:
    """Send a test message through every channel, synchronously; exit 1 when one failed."""
    from pytest_prodgate.watch.alerts import test_message
    from pytest_prodgate.watch.channels import send_with_retries
    from pytest_prodgate.watch.scheduler import now_iso

    channels = settings.alerts.channels
    if not channels:
        print("prodgate watch: no alert channels in [tool.prodgate.alerts]", file=sys.stderr)
        return int(ExitCode.GATES_FAILED)
    message = test_message(settings.environment, now_iso())
    failed = 0
    for channel in channels:
        result = send_with_retries(channel, message, retries=0, backoff=0, log=lambda line: None)
        failed += not result.ok
        print(f"{channel.name} ({channel.kind}): {'ok' if result.ok else 'FAILED'}, {result.result}")
    print(f"prodgate watch: {len(channels) - failed} of {len(channels)} alert channels work")
    return int(ExitCode.GATES_FAILED if failed else ExitCode.OK)


def run_status(args: argparse.Namespace) -> int:
    from pytest_prodgate.watch.status import format_status, gather_status

    status = gather_status(load_settings(args))
    print(json.dumps(status, indent=2, default=str) if args.json else format_status(status))
    return int(ExitCode.OK if status["watching"] else ExitCode.GATES_FAILED)
