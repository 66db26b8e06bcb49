"""Readiness checks switched on in ``[tool.prodgate.readiness] checks`` become collected items.

No Python to write: ``checks = ["env", "django-deploy"]`` adds the gates ``readiness::env`` and
``readiness::django-deploy``, marked ``readiness`` (so ``-m readiness`` selects them) and judged
like any other gate. A ``ReadinessChecks`` collector holds them, a child of the session when
pytest collects the project as a whole (no file or directory named on the command line, or the
project root named); ``-k``/``-m``/``--deselect`` select among them.
Configuration mistakes are ``pytest.UsageError`` naming the key.
"""

# The check engines (readiness.runner, Django probes, database drivers) are imported only when a check runs.

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.plugin.readiness import project_root, record_result
from pytest_prodgate.plugin.stash import gate_for, settings

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.readiness.result import ReadinessResult

__all__ = ["ReadinessChecks", "ReadinessItem"]

_django_results_key = pytest.StashKey[dict[str, "ReadinessResult"]]()


def _enabled_checks(config: pytest.Config) -> list[str]:
    section = settings(config).section("readiness")
    if not section.get("checks"):
        return []  # nothing switched on: the readiness family is not even imported
    from pytest_prodgate.readiness.config import enabled_checks

    return list(enabled_checks(section))


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
    context = Prodgate(config=settings(config), base_url=None, demo=DemoInfo(**info) if info else None)
    return context.database_url


def pytest_sessionstart(session: pytest.Session) -> None:
    # Check the section up front, on the controller (xdist workers collect but the controller does not),
    # when this run collects the checks: a mistake is then a usage error before anything runs.
    config = session.config
    if hasattr(config, "workerinput") or not _collects_project(config):
        return
    names = _enabled_checks(config)
    if not names:
        return
    from pytest_prodgate.readiness.runner import validate_section

    # The embedded demo starts with the first gate that needs it: its database URL is not known yet.
    demo_pending = bool(getattr(config.option, "prodgate_run_dir", None)) and not config.option.base_url
    try:
        validate_section(
            settings(config).section("readiness"),
            names,
            database_url=_database_url(config) or ("(demo)" if demo_pending else None),
        )
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Add the ``ReadinessChecks`` collector to the session's children when the run collects the project."""
    report = yield
    if isinstance(collector, pytest.Session) and report.passed:
        config = collector.config
        if _collects_project(config) and _enabled_checks(config):
            report.result.append(ReadinessChecks.from_parent(collector, name="readiness", nodeid="readiness"))
    return report


class ReadinessChecks(pytest.Collector):
    """The checks switched on in ``[tool.prodgate.readiness] checks``, one ``ReadinessItem`` each."""

    def collect(self) -> Iterator[ReadinessItem]:
        for name in _enabled_checks(self.config):
            # Named like its node id, so the summary table and reports show ``readiness::env``.
            yield ReadinessItem.from_parent(self, name=f"readiness::{name}", nodeid=f"readiness::{name}", check=name)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return project_root(self.config) / "pyproject.toml", None, "[tool.prodgate.readiness] checks"


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
        from pytest_prodgate.readiness.config import enabled_checks
        from pytest_prodgate.readiness.django_checks import DJANGO_CHECKS
        from pytest_prodgate.readiness.runner import run_checks

        current = settings(self.config)
        section = current.section("readiness")
        options: dict[str, Any] = {
            "root": project_root(self.config),
            "database_url": _database_url(self.config),
            "secret_names": current.get("secrets", []),
        }
        if self.check in DJANGO_CHECKS:
            # Every Django check switched on shares one probe process per run.
            cached = self.config.stash.get(_django_results_key, None)
            if cached is None:
                names = [n for n in enabled_checks(section) if n in DJANGO_CHECKS]
                cached = run_checks(names, section, **options)
                self.config.stash[_django_results_key] = cached
            return cached[self.check]
        return run_checks([self.check], section, **options)[self.check]

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (AssertionError, ConfigError)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return project_root(self.config) / "pyproject.toml", None, f"readiness::{self.check}"
