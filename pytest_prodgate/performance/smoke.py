"""Smoke first: each scenario once before the load, so a broken target fails fast with its response."""

from __future__ import annotations

from pathlib import Path
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


SKIP_SMOKE = "smoke=False (prodgate load --no-smoke) skips the smoke requests"


async def smoke_test(run: LoadRun) -> LoadResult | None:
    """Send each scenario once. A dead target returns a failed result; a wrong answer raises ``SmokeFailed``.

    Every ``SmokeFailed`` reads as one paragraph: what was tried, what failed, the likely fix (the
    response, headers masked, follows it); never a traceback through the engine.
    """
    plan = run.plan
    entries = {e.stats.name: e for e in reversed(run.table)}
    for scenario in plan.scenarios:
        entry = entries.get(scenario.label)
        if entry is None:
            continue
        stats = ScenarioStats(scenario.label)
        if isinstance(scenario, Template):
            tried = f"the smoke request of scenario {scenario.label!r} to {plan.url}: {request_line(entry.data)}"
            try:
                conn: FlowConnection = await open_connection(FlowConnection, run.target, plan.connect_timeout)  # type: ignore[assignment]
            except RequestFailed as exc:
                return _dead_target(run, scenario.label, exc)
            try:
                response = await conn.request(entry.data, stats, ok_table(scenario.expect), plan.read_timeout)
            except RequestFailed as exc:
                raise SmokeFailed(
                    f"{tried} got no answer ({exc.kind}: {exc.detail}), so the load was not started. "
                    f"Likely fix: check that the target serves this path (its logs say why it dropped the "
                    f"request), or allow more time with timeout= (--timeout); {SKIP_SMOKE}."
                ) from None
            finally:
                conn.close()
            if stats.errors:
                wanted = "a status below 400" if scenario.expect is None else f"status {scenario.expect}"
                raise SmokeFailed(
                    f"{tried} answered {response.status} {response.reason}, wanted {wanted}, so the load was not "
                    f"started. Likely fix: {_status_fix(response.status)}, or give the scenario the status it "
                    f"should get (Template(..., expect={response.status})); {SKIP_SMOKE}.\n"
                    f"{describe_response(response)}"
                )
        elif isinstance(scenario, Flow):
            tried = f"the smoke run of flow {scenario.label!r} against {plan.url}"
            user = run.new_user(0)
            user.stats = stats
            try:
                await scenario.func(user)
            except RequestFailed as exc:
                if exc.kind == "connect":
                    return _dead_target(run, scenario.label, exc)
                raise SmokeFailed(
                    f"{tried} got no answer to a request ({exc.kind}: {exc.detail}), so the load was not started. "
                    f"Likely fix: check that the target serves the flow's paths, or allow more time with "
                    f"timeout= (--timeout); {SKIP_SMOKE}."
                ) from None
            except CheckFailed:
                pass
            except Exception as exc:
                raise SmokeFailed(
                    f"the smoke run of flow {scenario.label!r} raised {type(exc).__name__}: {exc} at {_where(exc)} "
                    f"(against {plan.url}), so the load was not started. "
                    "Likely fix: correct the flow's code at that line; a flow should check answers with "
                    "user.check(...) rather than raise."
                ) from None
            finally:
                user.close()
            if stats.errors:
                raise SmokeFailed(
                    f"{tried} failed: {stats.last_error}, so the load was not started. Likely fix: make the "
                    f"target answer the flow's requests as it expects; {SKIP_SMOKE}."
                )
    return None


def _status_fix(status: int) -> str:
    if status >= 500:
        return "fix the target (its logs say why it fails this request)"
    if status in (401, 403):
        return "the request needs credentials: pass them with headers= (--header 'Authorization: ...')"
    if status == 404:
        return "the path does not exist on the target: correct the scenario's path or the base URL"
    return "correct the request (method, path, body) or the base URL"


def _where(exc: BaseException) -> str:
    """``file:line in function`` of the innermost frame of ``exc`` (the user's flow code, usually)."""
    tb = exc.__traceback__
    if tb is None:
        return "no traceback"
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return f"{Path(code.co_filename).name}:{tb.tb_lineno} in {code.co_name}"


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
        failure=(
            f"target {run.plan.url} is unreachable: {exc.detail}. The smoke request of scenario {label!r} "
            "could not connect, so the load was not started. Likely fix: start the target, or correct the "
            "base URL (--base-url, base_url in [tool.prodgate])"
        ),
    )
