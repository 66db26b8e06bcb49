"""Pytest glue for readiness checks: the ``readiness`` fixture.

::

    @pytest.mark.readiness
    def test_database_is_reachable(readiness, prodgate):
        readiness.database(prodgate.database_url, thresholds=["latency < 200ms"])

Each method runs one check with its options from ``[tool.prodgate.readiness]`` (keyword arguments
override them), records the figures into the ``gate`` and raises ``GateFailed`` with one line per
problem when the check does not pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.config import deep_merge, validate
from pytest_prodgate.errors import GateFailed
from pytest_prodgate.gate import Gate

# The readiness checks (SQLAlchemy, psutil, redis...) are imported inside the methods that run them,
# so a run without a readiness gate never loads them.
if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.context import Prodgate
    from pytest_prodgate.readiness.result import ReadinessResult

__all__ = ["Readiness", "readiness", "record_result"]


def project_root(config: pytest.Config) -> Path:
    """The directory of the pyproject.toml holding ``[tool.prodgate]`` (paths are relative to it)."""
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        return config.inipath.parent
    return config.rootpath


def record_result(gate: Gate, result: ReadinessResult) -> None:
    """Record a result's figures and details into ``gate`` (shared with the collected items)."""
    gate.record_many(result.figures)
    gate.attach(f"readiness.{result.check}", result.to_dict())


class Readiness:
    """Readiness checks for a test: one method per check, each failing the gate on a problem."""

    def __init__(self, gate: Gate, prodgate: Prodgate, root: Path) -> None:
        self.gate = gate
        self.prodgate = prodgate
        self.root = root
        self.results: list[ReadinessResult] = []

    def run(self, *names: str, fail: bool = True, **options: Any) -> ReadinessResult:
        """Run checks by name (``env``, ``django-deploy``...) with ``options`` for their table; the last result.

        With no name, every check switched on in ``checks`` runs.
        """
        __tracebackhide__ = True
        from pytest_prodgate.readiness.config import SCHEMA, enabled_checks
        from pytest_prodgate.readiness.django_checks import DJANGO_CHECKS
        from pytest_prodgate.readiness.runner import run_checks

        section = self.prodgate.section("readiness")
        chosen = list(names) or enabled_checks(section)
        if options:
            tables = {("django" if n in DJANGO_CHECKS else n) for n in chosen}
            for table in tables:
                validate(options, SCHEMA[table], f"readiness.{chosen[0]}() keyword arguments")
            section = deep_merge(section, {table: options for table in tables})
        results = run_checks(
            chosen,
            section,
            root=self.root,
            database_url=self.prodgate.database_url,
            secret_names=self.prodgate.settings.get("secrets", []),
        )
        for result in results.values():
            self.results.append(result)
            if len(results) == 1:
                record_result(self.gate, result)
            else:  # several checks in one gate: scope their figures (``env.missing``)
                self.gate.record_many(result.figures, prefix=result.check)
                self.gate.attach(f"readiness.{result.check}", result.to_dict())
        failed = [r for r in results.values() if not r.passed]
        if fail and failed:
            if len(failed) == 1:
                failed[0].raise_for_problems()
            _raise_many(failed)
        return list(results.values())[-1]

    def env(self, required: dict[str, Any] | None = None, **options: Any) -> ReadinessResult:
        """Required environment variables: set, typed, not placeholders, strong secrets."""
        __tracebackhide__ = True
        return self.run("env", **_given(options, required=required))

    def system(self, thresholds: Iterable[str] | None = None, **options: Any) -> ReadinessResult:
        """CPU, memory, disk use and open file descriptors against ``cpu < 80%``-style thresholds."""
        __tracebackhide__ = True
        return self.run("system", **_given(options, thresholds=_list(thresholds)))

    def database(self, url: str | None = None, **options: Any) -> ReadinessResult:
        """A database URL answers ``SELECT 1`` within its timeout (default: ``prodgate.database_url``)."""
        __tracebackhide__ = True
        return self.run("database", **_given(options, url=url))

    def alembic(self, url: str | None = None, **options: Any) -> ReadinessResult:
        """Alembic's current revision is the head (``config`` or ``script_location`` names the scripts)."""
        __tracebackhide__ = True
        return self.run("alembic", **_given(options, url=url))

    def redis(self, url: str | None = None, **options: Any) -> ReadinessResult:
        """Redis answers PING under the latency threshold."""
        __tracebackhide__ = True
        return self.run("redis", **_given(options, url=url))

    def audit(self, requirements: str | None = None, **options: Any) -> ReadinessResult:
        """pip-audit finds no known vulnerability (an unreachable advisory service is an error)."""
        __tracebackhide__ = True
        return self.run("audit", **_given(options, requirements=requirements))

    def lint(self, *paths: str, **options: Any) -> ReadinessResult:
        """``ruff check`` is clean on ``paths``."""
        __tracebackhide__ = True
        return self.run("lint", **_given(options, paths=list(paths) or None))

    def coverage(self, data_file: str | None = None, **options: Any) -> ReadinessResult:
        """Coverage from a data file meets ``coverage >= 85%`` (or the given thresholds)."""
        __tracebackhide__ = True
        return self.run("coverage", **_given(options, data_file=data_file))

    def django(self, *checks: str, settings: str | None = None, **options: Any) -> ReadinessResult:
        """The Django checks (default: all six) against a settings module, run in a subprocess."""
        __tracebackhide__ = True
        from pytest_prodgate.readiness.django_checks import DJANGO_CHECKS

        names = [c if c.startswith("django-") else f"django-{c}" for c in checks] or list(DJANGO_CHECKS)
        return self.run(*names, **_given(options, settings=settings))


def _given(options: dict[str, Any], **named: Any) -> dict[str, Any]:
    return {**options, **{k: v for k, v in named.items() if v is not None}}


def _list(value: Iterable[str] | None) -> list[str] | None:
    return None if value is None else ([value] if isinstance(value, str) else list(value))


def _raise_many(failed: list[ReadinessResult]) -> None:
    __tracebackhide__ = True
    results = [r for result in failed for r in result.thresholds]
    raise GateFailed("\n".join(result.message() for result in failed), results)


@pytest.fixture
def readiness(gate: Gate, prodgate: Prodgate, request: pytest.FixtureRequest) -> Readiness:
    """Readiness checks that record into this test's gate: ``readiness.env()``, ``readiness.database(url)``..."""
    return Readiness(gate, prodgate, project_root(request.config))
