"""Smoke first: each scenario once before the load, so a broken target fails fast with its response."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_prodgate.errors import SmokeFailed
from pytest_prodgate.performance.connection import FlowConnection, RequestFailed, Response, open_connection
from pytest_prodgate.performance.recorder import ScenarioStats
from pytest_prodgate.performance.result import LoadResult, ScenarioResult
from pytest_prodgate.performance.scenarios import Flow, Template, ok_table
from pytest_prodgate.performance.users import CheckFailed
from pytest_prodgate.redact import MASK, is_secret_header

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.performance.engine import LoadRun

__all__ = ["SmokeFailed", "describe_response", "smoke_test"]

BODY_LIMIT = 500


def mask_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers in order (repeated names kept), secret ones masked by the one rule in ``redact``."""
    return [(k, MASK if is_secret_header(k) else v) for k, v in headers]


def describe_response(response: Response) -> str:
    lines = [f"  HTTP {response.status} {response.reason}".rstrip()]
    lines += [f"  {k}: {v}" for k, v in mask_headers(response.headers)]
    body = response.text
    if len(body) > BODY_LIMIT:
        body = body[:BODY_LIMIT] + f"... ({len(response.body):,} bytes)"
    if body:
        lines += ["", "  " + body.replace("\n", "\n  ")]
    return "\n".join(lines)


def request_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode("latin-1").rsplit(" ", 1)[0]


async def smoke_test(run: LoadRun) -> LoadResult | None:
    """Send each scenario once. A dead target returns a failed result; a wrong answer raises ``SmokeFailed``."""
    plan = run.plan
    entries = {e.stats.name: e for e in reversed(run.table)}
    for scenario in plan.scenarios:
        entry = entries.get(scenario.label)
        if entry is None:
            continue
        stats = ScenarioStats(scenario.label)
        if isinstance(scenario, Template):
            try:
                conn: FlowConnection = await open_connection(FlowConnection, run.target, plan.connect_timeout)  # type: ignore[assignment]
            except RequestFailed as exc:
                return _dead_target(run, scenario.label, exc)
            try:
                response = await conn.request(entry.data, stats, ok_table(scenario.expect), plan.read_timeout)
            except RequestFailed as exc:
                raise SmokeFailed(
                    f"smoke request of scenario {scenario.label!r} failed: {request_line(entry.data)}: {exc}"
                ) from None
            finally:
                conn.close()
            if stats.errors:
                wanted = "a status below 400" if scenario.expect is None else f"status {scenario.expect}"
                raise SmokeFailed(
                    f"smoke request of scenario {scenario.label!r} failed: {request_line(entry.data)} answered "
                    f"{response.status}, wanted {wanted}\n{describe_response(response)}"
                )
        elif isinstance(scenario, Flow):
            user = run.new_user(0)
            user.stats = stats
            try:
                await scenario.func(user)
            except RequestFailed as exc:
                if exc.kind == "connect":
                    return _dead_target(run, scenario.label, exc)
                raise SmokeFailed(f"smoke run of flow {scenario.label!r} failed: {exc}") from None
            except CheckFailed:
                pass
            except Exception as exc:
                raise SmokeFailed(f"smoke run of flow {scenario.label!r} raised {type(exc).__name__}: {exc}") from exc
            finally:
                user.close()
            if stats.errors:
                raise SmokeFailed(f"smoke run of flow {scenario.label!r} failed: {stats.last_error}")
    return None


def _dead_target(run: LoadRun, label: str, exc: RequestFailed) -> LoadResult:
    scenarios = run.scenario_results()
    scenarios[label] = ScenarioResult(label, requests=1, errors={exc.kind: 1})
    return LoadResult(
        target=run.plan.url,
        scenarios=scenarios,
        duration=0.0,
        model="open" if run.plan.open_model else "closed",
        users=run.plan.users,
        rate=run.plan.rate,
        failure=f"target {run.plan.url} is unreachable: {exc.detail}",
    )
