"""A quick load test from the command line, judged by thresholds.

Exit status: 0 when every threshold passed, 1 when one failed, the target was unreachable or, as
in Locust, any request failed (unless a threshold on ``error_rate``/``errors`` or ``--allow-errors``
says how many may), 4 on a usage mistake. ``--json PATH`` writes the result with its figures in
base units.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_prodgate.arguments import duration, positive_duration
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.exitcodes import ExitCode
from pytest_prodgate.gate import format_results
from pytest_prodgate.performance.scenarios import Flow, Scenario, Template, normalise
from pytest_prodgate.thresholds import Threshold, format_value

# The engine (httpx, httptools, hdrhistogram) is imported in ``run``, so ``prodgate --help`` stays fast.
if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.performance.result import LoadResult

__all__ = ["failed_requests", "load_scenario_file", "register", "run"]

# The plan's keys (as in [tool.prodgate.performance]) and the option and argument that set each one.
OPTIONS = {
    "users": ("--users", "users"),
    "rate": ("--rate", "rate"),
    "duration": ("--duration", "duration"),
    "iterations": ("--iterations", "iterations"),
    "ramp_up": ("--ramp-up", "ramp_up"),
    "think_time": ("--think-time", "think_time"),
    "max_connections": ("--max-connections", "max_connections"),
    "workers": ("--workers", "workers"),
    "read_timeout": ("--timeout", "timeout"),
    "connect_timeout": ("--connect-timeout", "connect_timeout"),
    "cluster": ("--cluster", "cluster"),
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "load", help="Run a load test against a URL and judge it by thresholds", description=__doc__
    )
    parser.add_argument("url", help="Target URL; the default scenario is a GET of it")
    model = parser.add_argument_group("workload")
    model.add_argument("--users", "-u", type=int, help="Virtual users of the closed model (default 10)")
    model.add_argument(
        "--rate", "-r", type=float, help="Arrivals per second (open model; latency from the scheduled time)"
    )
    model.add_argument("--duration", "-d", type=positive_duration, help="How long to run, e.g. 10s or 2m (default 10s)")
    model.add_argument("--iterations", "-n", type=int, help="Stop after this many requests or flows in all")
    model.add_argument("--ramp-up", type=duration, default="0s", help="Start the users evenly over this time")
    model.add_argument("--think-time", type=duration, default="0s", help="Pause between a user's requests")
    model.add_argument("--max-connections", type=int, default=1000, help="Open model: most connections to open")
    model.add_argument("--workers", "-w", default="1", help="Processes to run the load in, a number or auto")
    model.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="Run on the workers of this Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: $PRODGATE_CLUSTER)",
    )
    model.add_argument(
        "--scenario", "-s", action="append", default=[], metavar="PATH", help="Scenario file (.py or .json); repeatable"
    )
    target = parser.add_argument_group("target")
    target.add_argument(
        "--header", "-H", action="append", default=[], metavar="'NAME: VALUE'", help="Extra request header; repeatable"
    )
    target.add_argument("--timeout", type=positive_duration, default="10s", help="Read timeout per request")
    target.add_argument("--connect-timeout", type=positive_duration, default="5s", help="Connect timeout")
    target.add_argument("--insecure", "-k", action="store_true", help="Do not verify the TLS certificate")
    target.add_argument("--ca-bundle", metavar="PATH", help="Verify TLS against this CA bundle")
    target.add_argument("--no-smoke", action="store_true", help="Skip the smoke request of each scenario")
    judge = parser.add_argument_group("judging")
    judge.add_argument(
        "--threshold",
        "-t",
        action="append",
        default=[],
        metavar="EXPR",
        help="Threshold such as 'p95 < 500ms'; repeatable",
    )
    judge.add_argument(
        "--allow-errors",
        action="store_true",
        help="Do not fail on failed requests by themselves (a threshold on error_rate or errors still judges them)",
    )
    judge.add_argument("--abort-on-fail", action="store_true", help="Stop as soon as a threshold can no longer pass")
    judge.add_argument("--json", metavar="PATH", help="Write the result as JSON")
    judge.add_argument("--quiet", "-q", action="store_true", help="No progress line")
    parser.set_defaults(handler=run)


def load_scenario_file(path: str) -> list[Scenario]:
    """Scenarios from a file: ``.py`` (a ``scenarios`` list, else its public async functions) or ``.json``."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"scenario file {path!r} does not exist", where="--scenario")
    if file.suffix == ".json":
        try:
            items = json.loads(file.read_text())
        except ValueError as exc:
            raise ConfigError(f"scenario file {path!r} is not valid JSON: {exc}", where="--scenario") from None
        if not isinstance(items, list):
            raise ConfigError(f"scenario file {path!r} must hold a list of request templates", where="--scenario")
        try:
            fields: list[dict[str, Any]] = [
                {k: (tuple(v) if k == "expect" and isinstance(v, list) else v) for k, v in item.items()}
                for item in items
            ]
            return [Template(**spec) for spec in fields]
        except TypeError as exc:
            raise ConfigError(f"scenario file {path!r}: {exc}", where="--scenario") from None
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
    name = f"prodgate_scenarios_{digest}"  # the same in worker processes, so flows unpickle there
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise ConfigError(f"scenario file {path!r} cannot be imported (expected .py or .json)", where="--scenario")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - any error in the user's file becomes one line
            del sys.modules[name]
            raise ConfigError(
                f"scenario file {path!r} failed to import: {type(exc).__name__}: {exc}", where="--scenario"
            ) from None
    found = getattr(module, "scenarios", None)
    if found is None:
        found = [
            Flow(obj)
            for key, obj in vars(module).items()
            if not key.startswith("_") and inspect.iscoroutinefunction(obj) and obj.__module__ == name
        ]
    if callable(found):
        found = found()
    result = normalise(found)
    if not result:
        raise ConfigError(f"scenario file {path!r} defines no scenarios", where="--scenario")
    return result


def _headers(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, text = value.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"header {value!r} must read 'Name: value'", where="--header")
        out[name.strip()] = text.strip()
    return out


def print_table(result: LoadResult, out: Any) -> None:
    rows = result.summary_rows()
    width = max((len(k) for k, _ in rows), default=10)
    print(
        f"target {result.target}  model {result.model}  workers {result.workers}  duration {result.duration:.2f}s",
        file=out,
    )
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}", file=out)
    if result.aborted:
        print(f"aborted: {result.aborted}", file=out)
    if result.failure:
        print(f"failed: {result.failure}", file=out)
    if result.cluster:
        print_cluster(result.cluster, out)


def print_cluster(cluster: dict[str, Any], out: Any) -> None:
    """One line per cluster worker: its share, requests, generator CPU and clock offset."""
    print(f"cluster {cluster['scheduler']}", file=out)
    for w in cluster["workers"]:
        figures = (
            f"requests {w['requests']:,}  generator_cpu {w['generator_cpu']:.0%}"
            if w.get("requests") is not None
            else "no result"
        )
        lost = f"  LOST: {w['lost']}" if w.get("lost") else ""
        print(
            f"  worker {w['address']}  {w['share']}  {figures}  clock offset {w['clock_offset'] * 1000:+.1f} ms{lost}",
            file=out,
        )


def run(args: argparse.Namespace) -> int:
    from pytest_prodgate.performance.engine import run_plan
    from pytest_prodgate.performance.workers import run_workers

    if args.users is not None and args.rate is not None:
        raise ConfigError("give either --users (closed model) or --rate (open model), not both", where="--users/--rate")
    if args.insecure and args.ca_bundle:
        raise ConfigError("give either --insecure or --ca-bundle, not both", where="--insecure")
    scenarios: list[Scenario] | None = None
    if args.scenario:
        scenarios = [s for path in args.scenario for s in load_scenario_file(path)]
    workers: Any = args.workers if args.workers == "auto" else _int(args.workers, "--workers")
    try:
        plan = _make_plan(args, scenarios, workers)
    except ConfigError as exc:
        raise _as_option_error(exc, args) from None
    if plan.workers > 1 and not plan.cluster:
        result = run_workers(plan, preload=[str(Path(p).resolve()) for p in args.scenario])
    else:
        result = run_plan(plan)
    print_table(result, sys.stdout)
    judged = result.evaluate(*plan.thresholds)
    if judged:
        print(format_results(judged), file=sys.stdout)
    errors = None if result.failure else failed_requests(result, plan.thresholds, allowed=args.allow_errors)
    if errors:
        print(f"failed: {errors}", file=sys.stdout)
    passed = result.failure is None and errors is None and all(r.passed for r in judged)
    if args.json:
        data = result.to_dict()
        data["thresholds"] = [r.to_dict() for r in judged]
        data["passed"] = passed
        Path(args.json).write_text(json.dumps(data, indent=2, allow_nan=False))
    return int(ExitCode.OK if passed else ExitCode.GATES_FAILED)


ERROR_FIGURES = ("errors", "error_rate", "success_rate")


def failed_requests(result: LoadResult, thresholds: Sequence[Threshold], *, allowed: bool) -> str | None:
    """Why a run with failed requests fails by itself, or ``None``.

    As in Locust, any failed request fails the run, unless ``--allow-errors`` is given or a threshold
    on an error figure (``error_rate < 1%``, ``errors == 0``, ``errors_5xx``...) says how many may fail.
    """
    overall = result.overall
    if allowed or not overall.error_count:
        return None
    if any(t.figure in ERROR_FIGURES or t.figure.startswith("errors_") for t in thresholds):
        return None
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(overall.errors.items()) if count)
    share = format_value(overall.error_count / overall.requests, "%") if overall.requests else "100 %"
    return (
        f"{overall.error_count:,} of {overall.requests:,} requests failed ({kinds}; error_rate = {share}); "
        "any failed request fails prodgate load unless a threshold says how many may "
        "(-t 'error_rate < 1%') or --allow-errors is given"
    )


def _make_plan(args: argparse.Namespace, scenarios: list[Scenario] | None, workers: Any) -> Any:
    from pytest_prodgate.performance.config import cluster_address
    from pytest_prodgate.performance.plan import make_plan

    return make_plan(
        args.url,
        scenarios,
        users=args.users,
        rate=args.rate,
        duration=args.duration,
        iterations=args.iterations,
        ramp_up=args.ramp_up,
        think_time=args.think_time,
        max_connections=args.max_connections,
        workers=workers,
        headers=_headers(args.header),
        read_timeout=args.timeout,
        connect_timeout=args.connect_timeout,
        verify=False if args.insecure else (args.ca_bundle or True),
        smoke=not args.no_smoke,
        abort_on_fail=args.abort_on_fail,
        thresholds=args.threshold,
        quiet=args.quiet,
        cluster=cluster_address(args.cluster),
    )


def _as_option_error(exc: ConfigError, args: argparse.Namespace) -> ConfigError:
    """The plan's mistake about a key, told about the option that set it and the value given."""
    if exc.where not in OPTIONS:
        return exc
    option, dest = OPTIONS[exc.where]
    reason = re.sub(r", got .*$", "", exc.reason.removeprefix(f"{exc.where} "))
    return ConfigError(reason, where=f"{option} {str(getattr(args, dest))!r}")


def _int(text: str, where: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not a whole number or auto", where=where) from None
