"""Database readiness (SQLAlchemy): reachable within a timeout, and Alembic at its head revision.

URLs are accepted as people write them (``postgresql://``, ``postgres://``, ``mysql://``, ``mariadb://``;
see ``pytest_prodgate.dsn``), the same way the data gates accept them.

Every URL shown is masked (``postgresql+psycopg://app:********@db/prod``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_prodgate.dsn import likely_fix, normalize_database_url
from pytest_prodgate.readiness.result import Finding, ReadinessResult, build_result
from pytest_prodgate.redact import Redactor, mask_url

__all__ = ["check_alembic", "check_database", "measure_database"]

DEFAULT_TIMEOUT = 5.0


def _connect_args(url: Any, timeout: float) -> dict[str, Any]:
    backend = url.get_backend_name()
    if backend == "sqlite":
        return {"timeout": timeout}
    seconds = max(1, int(round(timeout)))
    if backend == "postgresql":
        return {"connect_timeout": seconds}
    if backend in ("mysql", "mariadb"):
        # A server that accepts and never greets would hang the handshake read without read_timeout.
        return {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
    return {}


def _engine(database_url: str, timeout: float) -> Any:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(normalize_database_url(database_url))  # postgresql://, mysql://... as people write them
    return create_engine(url, poolclass=NullPool, connect_args=_connect_args(url, timeout))


def _reason(exc: BaseException) -> str:
    """The driver's own reason, first line, without SQLAlchemy's background link."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__


def measure_database(database_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> tuple[float | None, str | None]:
    """Connect and ``SELECT 1``; ``(latency in seconds, None)`` or ``(None, reason)``, bounded by ``timeout``.

    The connection runs in a helper thread so that a driver ignoring its own timeout cannot hang
    the gate: after ``timeout`` the check gives up and says so.
    """
    outcome: dict[str, Any] = {}

    def attempt() -> None:
        started = time.perf_counter()
        try:
            from sqlalchemy import text

            engine = _engine(database_url, timeout)
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1")).scalar()
            finally:
                engine.dispose()
            outcome["latency"] = time.perf_counter() - started
        except Exception as exc:  # every driver raises its own types; the reason is what matters
            outcome["error"] = _reason(exc)

    worker = threading.Thread(target=attempt, name="prodgate-db-probe", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if worker.is_alive():
        return None, f"no answer within {timeout:g} s"
    if "error" in outcome:
        return None, str(outcome["error"])
    return float(outcome["latency"]), None


def check_database(
    database_url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    thresholds: Sequence[str] = (),
    waivers: Mapping[str, str] | None = None,
    name: str = "database",
) -> ReadinessResult:
    """A database URL is reachable within ``timeout``: connect and ``SELECT 1``; figure ``latency``."""
    shown = mask_url(database_url)
    redactor = Redactor(values=_password(database_url), env={})
    started = time.perf_counter()
    latency, error = measure_database(database_url, timeout=timeout)
    figures: dict[str, float] = {}
    findings: list[Finding] = []
    if latency is None:
        elapsed = time.perf_counter() - started
        figures["elapsed"] = elapsed
        reason = f"{shown} unreachable after {elapsed * 1000:.0f} ms: {error}; {likely_fix(str(error))}"
        findings.append(Finding("database.unreachable", reason))
        summary = ""
    else:
        figures["latency"] = latency
        summary = f"{shown} answered SELECT 1 in {latency * 1000:.1f} ms"
    return build_result(
        name,
        findings,
        figures,
        thresholds=thresholds if latency is not None else (),
        waivers=waivers,
        summary=summary,
        redactor=redactor,
    )


def _password(database_url: str) -> list[str]:
    try:
        from sqlalchemy.engine import make_url

        password = make_url(database_url).password
    except Exception:  # an unparsable URL has no password to hide; the connection reports the mistake
        return []
    return [str(password)] if password else []


def check_alembic(
    database_url: str,
    *,
    config_file: str | None = None,
    script_location: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    waivers: Mapping[str, str] | None = None,
) -> ReadinessResult:
    """Alembic's current revision in the database equals the head; the missing revisions are listed.

    Figures: ``heads``, ``pending`` (revisions between current and head).
    """
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    shown = mask_url(database_url)
    redactor = Redactor(values=_password(database_url), env={})
    config = Config(config_file) if config_file else Config()
    if script_location:
        config.set_main_option("script_location", script_location)
    try:
        script = ScriptDirectory.from_config(config)
        heads = tuple(script.get_heads())
    except Exception as exc:  # alembic raises CommandError and plain OSErrors for a bad directory
        return build_result("alembic", [], error=f"cannot read the Alembic scripts: {_reason(exc)}", redactor=redactor)
    latency, error = measure_database(database_url, timeout=timeout)
    if error is not None:
        return build_result("alembic", [], error=f"{shown} unreachable: {error}", redactor=redactor)
    engine = _engine(database_url, timeout)
    try:
        with engine.connect() as connection:
            current = tuple(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    pending = []
    for revision in script.iterate_revisions(heads, current or "base"):
        if revision.revision not in current:
            pending.append(revision)
    pending.reverse()  # oldest first: the order `alembic upgrade head` applies them
    findings = [
        Finding("alembic.pending", f"revision {rev.revision} not applied: {rev.doc or '(no message)'}")
        for rev in pending
    ]
    notes = []
    if findings:
        notes.append(
            f"database at {', '.join(current) or 'base (empty)'}, head is {', '.join(heads)}: run alembic upgrade head"
        )
    figures = {"heads": float(len(heads)), "pending": float(len(pending)), "latency": float(latency or 0.0)}
    summary = f"{shown} at head {', '.join(heads)}"
    return build_result("alembic", findings, figures, waivers=waivers, summary=summary, notes=notes, redactor=redactor)
