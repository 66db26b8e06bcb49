"""Readiness checks switched on in ``[tool.prodgate.readiness] checks`` become collected items.

No Python to write: ``checks = ["env", "django-deploy"]`` adds the gates ``readiness::env`` and
``readiness::django-deploy``, marked ``readiness`` (so ``-m readiness`` selects them) and judged
like any other gate. They are added when pytest collects the project as a whole (no file or
directory named on the command line, or the project root named); ``-k``/``-m`` select among them.
Configuration mistakes are ``pytest.UsageError`` naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.plugin.readiness import project_root, record_result
from pytest_prodgate.plugin.stash import gate_for, settings
from pytest_prodgate.readiness.config import enabled_checks
from pytest_prodgate.readiness.django_checks import DJANGO_CHECKS
from pytest_prodgate.readiness.result import ReadinessResult
from pytest_prodgate.readiness.runner import run_checks, validate_section

__all__ = ["ReadinessItem"]

_django_results_key = pytest.StashKey[dict[str, ReadinessResult]]()


def _context(config: pytest.Config) -> Any:
    return settings(config)


def _collects_project(config: pytest.Config) -> bool:
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return True
    root = project_root(config).resolve()
    for arg in config.args:
        path = Path(arg.split("::")[0])
        path = path if path.is_absolute() else Path(config.invocation_params.dir) / path
        if path.resolve() in (root, root / "pyproject.toml"):
            return True
    return False


def _database_url(config: pytest.Config) -> str | None:
    from pytest_prodgate.context import DemoInfo, Prodgate

    info = getattr(config.option, "prodgate_demo_info", None)
    context = Prodgate(config=_context(config), base_url=None, demo=DemoInfo(**info) if info else None)
    return context.database_url


class ReadinessItem(pytest.Item):
    """One readiness check from the configuration, run as a gate."""

    def __init__(self, *, check: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.add_marker(pytest.mark.readiness)

    def runtest(self) -> None:
        __tracebackhide__ = True
        result = self._result()
        record_result(gate_for(self), result)
        result.raise_for_problems()

    def _result(self) -> ReadinessResult:
        settings = _context(self.config)
        section = settings.section("readiness")
        root = project_root(self.config)
        secrets = settings.get("secrets", [])
        if self.check in DJANGO_CHECKS:
            # Every Django check switched on shares one probe process per run.
            cached = self.config.stash.get(_django_results_key, None)
            if cached is None:
                names = [n for n in enabled_checks(section) if n in DJANGO_CHECKS]
                cached = run_checks(
                    names, section, root=root, database_url=_database_url(self.config), secret_names=secrets
                )
                self.config.stash[_django_results_key] = cached
            return cached[self.check]
        return run_checks(
            [self.check], section, root=root, database_url=_database_url(self.config), secret_names=secrets
        )[self.check]

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (AssertionError, ConfigError)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return project_root(self.config) / "pyproject.toml", None, f"readiness::{self.check}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Append one item per switched-on check (before ``-k``/``-m`` deselect and before gate specs are read)."""
    if not _collects_project(config):
        return
    settings = _context(config)
    section = settings.section("readiness")
    names = enabled_checks(section)
    if not names:
        return
    # The embedded demo starts with the first gate that needs it: its database URL is not known yet.
    demo_pending = bool(getattr(config.option, "prodgate_run_dir", None)) and not config.option.base_url
    try:
        validate_section(section, names, database_url=_database_url(config) or ("(demo)" if demo_pending else None))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    added: list[pytest.Item] = [
        ReadinessItem.from_parent(session, name=f"readiness::{name}", nodeid=f"readiness::{name}", check=name)
        for name in names
    ]
    items.extend(added)
    # Report them as collected, so "collected N items" and --collect-only counts include them.
    config.hook.pytest_collectreport(report=pytest.CollectReport("readiness", "passed", None, list(added)))
