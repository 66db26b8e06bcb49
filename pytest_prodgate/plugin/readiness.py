"""pytest glue of the ``readiness`` family: the ``readiness`` fixture and the collector of configured checks.

Pytest glue for readiness checks: the ``readiness`` fixture.

::

    @pytest.mark.readiness
    def test_database_is_reachable(readiness, prodgate):
        readiness.database(prodgate.database_url, thresholds=["latency < 200ms"])

Each method runs one check with its options from ``[tool.prodgate.readiness]`` (keyword arguments
override them), records the figures into the ``gate`` and raises ``GateFailed`` with one line per
problem when the check does not pass.


Readiness checks switched on in ``[tool.prodgate.readiness] checks`` become collected items.

No Python to write: ``checks = ["env", "django-deploy"]`` adds the gates ``readiness::env`` and
``readiness::django-deploy``, marked ``readiness`` (so ``-m readiness`` selects them) and judged
like any other gate. A ``ReadinessChecks`` collector holds them, a child of the session when
pytest collects the project as a whole (no file or directory named on the command line, or the
project root named); ``-k``/``-m``/``--deselect`` select among them.
Configuration mistakes are ``pytest.UsageError`` naming the key.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.config import deep_merge, validate
from pytest_prodgate.errors import ConfigError, GateFailed
from pytest_prodgate.plugin.stash import gate_for, settings

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.context import Prodgate
    from pytest_prodgate.gate import Gate
    from pytest_prodgate.readiness.result import ReadinessResult

__all__ = ["Readiness", "ReadinessChecks", "ReadinessItem", "readiness", "record_result"]


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
            base_url=self.prodgate.base_url,
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
            if len(results) == 1:
                failed[0].raise_for_problems()
            _raise_many(list(results.values()))
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

    def serving(self, url: str | None = None, **options: Any) -> ReadinessResult:
        """A production server (gunicorn, uvicorn, nginx...) serves ``url`` (default: the base URL), not a
        development one; gunicorn/uvicorn settings audited where their process is on this machine."""
        __tracebackhide__ = True
        return self.run("serving", **_given(options, url=url))

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


def _raise_many(results: list[ReadinessResult]) -> None:
    """One gate, several checks: one verdict (error if any could not run) and one line per check.

    A reason shared by several checks (the Django probe could not start) is said once, in the headline.
    """
    __tracebackhide__ = True
    from pytest_prodgate.thresholds import ThresholdResult, Verdict, parse_threshold

    failed = [r for r in results if not r.passed]
    reasons = list(dict.fromkeys(r.error for r in failed if r.verdict is Verdict.ERROR and r.error))
    problems = sum(len(r.findings) for r in failed)
    if reasons:
        count = sum(1 for r in failed if r.verdict is Verdict.ERROR)
        head = f"could not run: {reasons[0]}" if len(reasons) == 1 else f"{count} checks could not run"
    else:
        head = f"{len(failed)} of {len(results)} checks failed ({problems} problems)"
    lines = [head]
    for result in results:
        if result.verdict is Verdict.ERROR:
            shared = len(reasons) == 1 and result.error == reasons[0]
            lines.append(f"  - {result.check}: could not run" + ("" if shared else f": {result.error}"))
        elif result.verdict is Verdict.FAIL:
            lines.append(f"  - {result.check}: " + result.message().splitlines()[0])
            lines += [f"      {line}" for line in result.lines()] if len(result.lines()) > 1 else []
        else:
            lines.append(f"  - {result.check}: passed")
    judged = [r for result in failed for r in result.thresholds]
    if reasons:
        threshold = parse_threshold("problems == 0")
        judged.append(ThresholdResult(threshold, Verdict.ERROR, None, head))
    raise GateFailed("\n".join(lines), judged)


@pytest.fixture
def readiness(gate: Gate, prodgate: Prodgate, request: pytest.FixtureRequest) -> Readiness:
    """Readiness checks that record into this test's gate: ``readiness.env()``, ``readiness.database(url)``..."""
    return Readiness(gate, prodgate, project_root(request.config))


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


def _base_url(config: pytest.Config) -> str | None:
    info = getattr(config.option, "prodgate_demo_info", None)
    given: str | None = getattr(config.option, "base_url", None)
    return given or (str(info["base_url"]) if info else None)


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
            "base_url": _base_url(self.config),
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
