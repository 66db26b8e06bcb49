"""``prodgate health``: probe, wait for, and audit a target from a shell or a deploy script.

``prodgate health wait URL --timeout 120s`` waits for a fresh deploy; ``probe``, ``tls`` and
``headers`` run one gate each. Exit code 0 when the gate passes, 1 when it fails (the message says
why), 4 for a usage mistake.
"""

from __future__ import annotations

import argparse
from typing import Any

from pytest_prodgate.arguments import count, positive_duration
from pytest_prodgate.errors import ConfigError, GateFailed
from pytest_prodgate.exitcodes import ExitCode
from pytest_prodgate.health.headers import DEFAULT_HSTS_MIN_AGE, AuditOptions, audit_headers
from pytest_prodgate.thresholds import format_value, parse_duration

# The probes (httpx) and the certificate check (cryptography) are imported in the handlers that use
# them, so ``prodgate --help`` stays fast.


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("health", help="Probe endpoints, wait for a deploy, audit TLS and security headers")
    commands = parser.add_subparsers(dest="health_command", metavar="CHECK", required=True)

    def probe_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("url", help="Full URL to probe, e.g. https://shop.example/health/ready")
        sub.add_argument("--status", type=int, action="append", help="Wanted status (repeatable; default 200)")
        sub.add_argument("--json", action="append", default=[], metavar="CONDITION", help="Condition on the JSON body")
        sub.add_argument("--contains", help="Text the body must contain")
        sub.add_argument("--insecure", action="store_true", help="Do not verify the TLS certificate")

    probe = commands.add_parser("probe", help="One probe with retries")
    probe_options(probe)
    probe.add_argument("--retries", type=count, default=2, help="Retries after the first attempt (default 2)")
    probe.add_argument(
        "--deadline", type=positive_duration, default="30s", help="Longest the probe may take (default 30s)"
    )
    probe.add_argument(
        "--timeout", type=positive_duration, default="5s", help="Connect and read timeout of each attempt (default 5s)"
    )
    probe.add_argument("--threshold", action="append", default=[], help="Threshold such as 'latency < 300ms'")
    probe.set_defaults(handler=run_probe)

    wait = commands.add_parser("wait", help="Probe until healthy or the timeout passes")
    probe_options(wait)
    wait.add_argument("--timeout", type=positive_duration, default="120s", help="How long to wait (default 120s)")
    wait.add_argument(
        "--interval", type=positive_duration, default="2s", help="Longest wait between attempts (default 2s)"
    )
    wait.set_defaults(handler=run_wait)

    tls = commands.add_parser("tls", help="Audit a TLS certificate: expiry, hostname, chain, protocol")
    tls.add_argument("target", help="HOST or HOST:PORT (port 443 by default)")
    tls.add_argument("--server-name", help="Name to send (SNI) and match (default: the host)")
    tls.add_argument("--ca-bundle", help="CA bundle to verify against (default: the system store)")
    tls.add_argument("--threshold", action="append", default=[], help="Default: 'days_left > 14'")
    tls.add_argument("--timeout", type=positive_duration, default="10s", help="Connect timeout (default 10s)")
    tls.set_defaults(handler=run_tls)

    headers = commands.add_parser("headers", help="Audit the security headers of a URL")
    headers.add_argument("url", help="Full URL whose response headers are audited")
    headers.add_argument("--waive", action="append", default=[], metavar="ITEM=REASON", help="Waive an item")
    headers.add_argument(
        "--hsts-min-age",
        type=positive_duration,
        default=str(DEFAULT_HSTS_MIN_AGE),
        help="Least HSTS max-age (default 180d)",
    )
    headers.add_argument("--insecure", action="store_true", help="Do not verify the TLS certificate")
    headers.set_defaults(handler=run_headers)


def _verdict(check: Any, passed_line: str) -> int:
    try:
        check()
    except GateFailed as exc:
        print(exc)
        return int(ExitCode.GATES_FAILED)
    if passed_line:
        print(passed_line)
    return int(ExitCode.OK)


def run_probe(args: argparse.Namespace) -> int:
    from pytest_prodgate.health.probes import Probe, RetryPolicy

    policy = RetryPolicy.from_settings({"retries": args.retries, "deadline": args.deadline, "timeout": args.timeout})
    probe = Probe(None, policy=policy, verify=not args.insecure)
    found: list[Any] = []

    def check() -> None:
        found.append(
            probe.get(
                args.url,
                status=args.status or [200],
                json=args.json or None,
                contains=args.contains,
                thresholds=args.threshold or None,
            )
        )

    code = _verdict(check, "")
    if found:
        result = found[0]
        print(
            f"{result.method} {probe.redactor(result.url)}: {result.status} in {format_value(result.latency, 'ms')} "
            f"({len(result.attempts)} attempt{'s' if len(result.attempts) > 1 else ''})"
        )
    return code


def run_wait(args: argparse.Namespace) -> int:
    from pytest_prodgate.health.probes import Probe

    probe = Probe(None, verify=not args.insecure)
    found: list[Any] = []

    def check() -> None:
        found.append(
            probe.wait_until_healthy(
                args.url,
                timeout=args.timeout,
                interval=args.interval,
                status=args.status or [200],
                json=args.json or None,
                contains=args.contains,
            )
        )

    code = _verdict(check, "")
    if found:
        result = found[0]
        print(
            f"{probe.redactor(result.url)} is healthy ({result.status}) after {len(result.attempts)} "
            f"attempt{'s' if len(result.attempts) > 1 else ''} in {result.total_time:.2f} s"
        )
    return code


def run_tls(args: argparse.Namespace) -> int:
    from pytest_prodgate.health.tls import DEFAULT_TLS_THRESHOLDS, check_certificate

    host, _, port_text = args.target.partition(":")
    if port_text and not port_text.isdigit():
        raise ConfigError(f"tls: {args.target!r} is not HOST or HOST:PORT")
    report = check_certificate(
        host,
        int(port_text or 443),
        server_name=args.server_name,
        ca_bundle=args.ca_bundle,
        timeout=parse_duration(args.timeout),
        thresholds=args.threshold or DEFAULT_TLS_THRESHOLDS,
    )
    return _verdict(report.check, report.describe())


def run_headers(args: argparse.Namespace) -> int:
    from pytest_prodgate.health.probes import Probe, RetryPolicy

    waivers = {}
    for text in args.waive:
        item, sep, reason = text.partition("=")
        if not sep or not reason.strip():
            raise ConfigError(
                f"--waive {text!r}: expected ITEM=REASON, e.g. strict-transport-security='set by the CDN'"
            )
        waivers[item.strip()] = reason.strip()
    options = AuditOptions(hsts_min_age=int(parse_duration(args.hsts_min_age)), waivers=waivers)
    probe = Probe(None, policy=RetryPolicy(attempts=1), verify=not args.insecure)
    result = probe.get(args.url)
    assert result.response is not None  # the probe raises when nothing answered
    audit = audit_headers(result.response.headers, url=probe.redactor(result.url), options=options)
    return _verdict(audit.check, audit.describe())
