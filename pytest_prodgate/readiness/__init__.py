"""Readiness checks: may this release go out? Plain functions returning a ``ReadinessResult``.

Each check lives in its own module and never imports pytest: ``env`` (required variables),
``django_checks`` (settings audit, ``check --deploy``, migrations, static files, services,
logging), ``databases`` (SQLAlchemy reachability, Alembic head), ``cache`` (Redis), ``code``
(pip-audit, ruff, coverage) and ``system`` (psutil). ``runner.run_checks`` runs them by name
from ``[tool.prodgate.readiness]``; ``fixtures`` and ``collect`` are the pytest glue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_prodgate.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.readiness.result import Finding, ReadinessResult, build_result
    from pytest_prodgate.readiness.runner import run_check, run_checks

__all__ = ["Finding", "ReadinessResult", "build_result", "run_check", "run_checks"]

# Each submodule (and its engine) is imported when one of its names is first used.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".result": ("Finding", "ReadinessResult", "build_result"),
        ".runner": ("run_check", "run_checks"),
    },
)
