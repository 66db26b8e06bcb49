"""Why a load gate failed, in a few lines: errors by kind and status code, the worst scenarios, and a hint.

``breakdown(result)`` reads only a ``LoadResult``'s counts and figures. The hints are rules of thumb
stated with the figures that triggered them (``connect errors 12: ...``), never a guess without one:

- connect errors: the server did not accept connections (listen backlog, worker count, or it is down);
- timeouts: requests outlived the read timeout (a stall or an overloaded server);
- resets: the server closed connections under load;
- 4xx: the requests do not fit the target (a 404 is a path it does not have), not a capacity problem;
- 5xx: the server failed while handling requests (its log says why);
- p99 far above p50: a few requests stall (blocking calls, lock waits, pauses) while most are fast;
- p50 close to p99 and high: every request is slow (per-request work: a slow query, an external call);
- generator CPU above 80 %: the load generator is the bottleneck; its figures understate the server.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pytest_prodgate.thresholds import format_value

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.performance.result import LoadResult, ScenarioResult

__all__ = ["breakdown", "hints"]

WORST = 3  # scenarios named in the breakdown
BUSY_GENERATOR = 0.8
STALL_RATIO = 10.0  # p99 / p50 above this, with p99 over STALL_FLOOR, is a tail, not noise
STALL_FLOOR = 0.05
SLOW_FLOOR = 0.1  # p50 over 100 ms and within 2x of p99: every request is slow


def _ms(seconds: float) -> str:
    return format_value(seconds, "ms")


def _percent(part: float, whole: float) -> str:
    return format_value(part / whole if whole else 0.0, "%")


def _errors_line(overall: ScenarioResult) -> str | None:
    errors = overall.error_count
    if not errors:
        return None
    kinds = sorted(((k, n) for k, n in overall.errors.items() if n), key=lambda kv: -kv[1])
    said = []
    for kind, count in kinds:
        codes = sorted(
            ((code, n) for code, n in overall.status.items() if code[:1] == kind[:1] and kind in ("4xx", "5xx")),
            key=lambda kv: -kv[1],
        )
        detail = f" ({', '.join(f'status {code}: {n}' for code, n in codes)})" if codes else ""
        said.append(f"{kind} {count}{detail}")
    return f"errors: {errors} of {overall.requests} requests ({_percent(errors, overall.requests)}): " + "; ".join(said)


def _scenario_phrase(scenario: ScenarioResult, duration: float) -> str:
    figures = scenario.figures(duration)
    p95 = figures.get("p95", math.nan)
    latency = f", p95 {_ms(p95)}" if not math.isnan(p95) else ""
    return (
        f"{scenario.name} {scenario.error_count} errors of {scenario.requests} "
        f"({_percent(scenario.error_count, scenario.requests)}){latency}"
    )


def _worst_line(result: LoadResult) -> str | None:
    if len(result.scenarios) < 2:
        return None

    def badness(scenario: ScenarioResult) -> tuple[float, float]:
        figures = scenario.figures(result.duration)
        p95 = figures.get("p95", math.nan)
        return figures["error_rate"], 0.0 if math.isnan(p95) else p95

    worst = sorted(result.scenarios.values(), key=badness, reverse=True)[:WORST]
    return "worst scenarios: " + "; ".join(_scenario_phrase(s, result.duration) for s in worst)


def hints(result: LoadResult) -> list[str]:
    """What the figures usually mean, each with the figures that say so."""
    overall = result.overall
    errors = overall.errors
    out = []
    if errors.get("connect"):
        out.append(
            f"connect errors {errors['connect']}: the server did not accept connections; "
            "its listen backlog or worker count is too small for this load, or it is down"
        )
    if errors.get("timeout"):
        out.append(
            f"timeouts {errors['timeout']}: requests outlived the read timeout; the server stalled or is overloaded"
        )
    if errors.get("reset"):
        out.append(f"connection resets {errors['reset']}: the server closed connections under load")
    if errors.get("4xx"):
        out.append(
            f"4xx responses {errors['4xx']}: the requests do not fit this target (404: a path it does not have; "
            "401/403: missing credentials); not a capacity problem"
        )
    if errors.get("5xx"):
        out.append(f"5xx responses {errors['5xx']}: the server failed while handling requests; its log says why")
    figures = overall.figures(result.duration)
    p50, p99 = figures.get("p50", math.nan), figures.get("p99", math.nan)
    if not (math.isnan(p50) or math.isnan(p99)) and p50 > 0:
        if p99 >= STALL_FLOOR and p99 / p50 >= STALL_RATIO:
            out.append(
                f"p99 {_ms(p99)} is {p99 / p50:.0f}x p50 {_ms(p50)}: most requests are fast and a few stall "
                "(blocking calls, lock waits, pauses)"
            )
        elif p50 >= SLOW_FLOOR and p99 <= 2 * p50:
            out.append(
                f"p50 {_ms(p50)} and p99 {_ms(p99)} are close: every request is slow, not a few "
                "(per-request work: a slow query, an external call)"
            )
    if result.generator_cpu > BUSY_GENERATOR:
        out.append(
            f"generator CPU {format_value(result.generator_cpu, '%')}: the load generator is the bottleneck "
            f"and its figures understate the server; add workers (now {result.workers})"
        )
    return out


def breakdown(result: LoadResult) -> list[str]:
    """The lines appended to a failing load gate's message (empty when there is nothing to add)."""
    lines = [line for line in (_errors_line(result.overall), _worst_line(result)) if line]
    lines += [f"hint: {hint}" for hint in hints(result)]
    return lines
