"""pytest glue of the ``data`` family: the ``data`` fixture and the collector of rules files.

The ``data`` fixture: data rules as method calls that record figures into the gate (pytest glue).

```python
@pytest.mark.data
def test_no_orphaned_order_items(data):
    data.relationship("order_items", "order_id", to="orders.id")
```

The database is ``$PRODGATE_DATABASE_URL``, else ``[tool.prodgate.data] database_url``, else
``[tool.prodgate] database_url``, else the embedded demo service's database.


Rules files named in ``[tool.prodgate.data] rules`` become ``data`` gates, one item per rule (pytest glue).

The files are read and validated when the session starts, so a mistake in one is a usage error
(exit code 4) whose one line names the file, the line and the rule, before anything runs.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.errors import ConfigError, CouldNotRun, GateFailed, TargetError
from pytest_prodgate.plugin.stash import gate_for, settings

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.config import ProdgateConfig
    from pytest_prodgate.context import Prodgate
    from pytest_prodgate.data.result import RuleResult
    from pytest_prodgate.data.rules import Rule
    from pytest_prodgate.data.rulesfile import RuleEntry
    from pytest_prodgate.data.runner import DataChecker
    from pytest_prodgate.gate import Gate

__all__ = ["DataGate", "DataRuleItem", "DataRulesFile", "checker_for", "data", "data_checker", "database_url"]


_checkers_key = pytest.StashKey[dict[str, "DataChecker"]]()


def database_url(config: pytest.Config) -> str:
    """The database the data gates look at; a ``ConfigError`` when none is configured."""
    current: ProdgateConfig = settings(config)
    # The variable wins over both tables (docs/configuration.md), then the data table over the base one.
    url = os.environ.get("PRODGATE_DATABASE_URL") or current.section("data").get("database_url")
    if not url:
        info = getattr(config.option, "prodgate_demo_info", None)
        from pytest_prodgate.context import DemoInfo, Prodgate

        url = Prodgate(config=current, demo=DemoInfo(**info) if info else None).database_url
    if not url:
        raise ConfigError(
            "no database for the data gates: set database_url in [tool.prodgate.data] or [tool.prodgate], "
            "or PRODGATE_DATABASE_URL, or run against the embedded demo (--prodgate-demo)"
        )
    return str(url)


def checker_for(config: pytest.Config) -> DataChecker:
    """One ``DataChecker`` (engine and pool) per database URL per run; closed at the end of the run."""
    from pytest_prodgate.data.runner import DEFAULT_SAMPLE_SIZE, DEFAULT_STATEMENT_TIMEOUT, DataChecker

    url = database_url(config)
    checkers = config.stash.setdefault(_checkers_key, {})
    if url not in checkers:
        section = settings(config).section("data")
        from pytest_prodgate.thresholds import parse_duration  # with the first data gate, not every run

        timeout = parse_duration(section.get("statement_timeout", DEFAULT_STATEMENT_TIMEOUT), what="statement_timeout")
        checkers[url] = DataChecker(
            url, sample_size=int(section.get("sample_size", DEFAULT_SAMPLE_SIZE)), statement_timeout=timeout
        )
    return checkers[url]


def close_checkers(config: pytest.Config) -> None:
    for checker in config.stash.get(_checkers_key, {}).values():
        checker.close()
    config.stash[_checkers_key] = {}


def pytest_unconfigure(config: pytest.Config) -> None:
    close_checkers(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A data gate that could not run (database unreachable, query timed out) is an error with that reason."""
    try:
        return (yield)
    except TargetError as exc:
        if item.get_closest_marker("data") is None or isinstance(exc, CouldNotRun):
            raise
        raise CouldNotRun(str(exc)) from None  # one paragraph, never the driver's or our own traceback


class DataGate:
    """What the ``data`` fixture hands a test: one method per rule; each records into the gate and
    raises ``GateFailed`` (with a sample of offending rows and the SQL) when its thresholds miss."""

    def __init__(self, checker: DataChecker, gate: Gate, node: pytest.Item | None = None) -> None:
        self.checker = checker
        self.gate = gate
        self.node = node
        self.results: list[RuleResult] = []

    def check(self, rule: Rule, *, thresholds: Sequence[str] | None = None) -> RuleResult:
        """Run ``rule``, record its figures, and raise ``GateFailed`` on a miss."""
        __tracebackhide__ = True
        result = self.checker.run(rule, thresholds=tuple(thresholds) if thresholds is not None else None)
        self.results.append(result)
        self.gate.record_many(result.figures)
        self.gate.attach("data", [r.to_dict() for r in self.results])
        # Every rule's judged thresholds are the gate's, passing or not (summary table, JSON report).
        self.gate.checked.extend(result.results)
        return result.check()

    def rule(self, kind: str, **options: Any) -> RuleResult:
        """Any rule by its type name: ``data.rule("unique", table="products", column="sku")``."""
        __tracebackhide__ = True
        from pytest_prodgate.data.rules import make_rule

        return self.check(make_rule(kind, _options(options)))

    def unique(self, table: str, columns: str | Sequence[str], **options: Any) -> RuleResult:
        __tracebackhide__ = True
        return self.rule("unique", table=table, columns=_names(columns), **options)

    def not_null(self, table: str, columns: str | Sequence[str], **options: Any) -> RuleResult:
        __tracebackhide__ = True
        return self.rule("not_null", table=table, columns=_names(columns), **options)

    def relationship(self, table: str, column: str, *, to: str, **options: Any) -> RuleResult:
        __tracebackhide__ = True
        return self.rule("relationship", table=table, column=column, to=to, **options)

    def accepted_values(self, table: str, column: str, values: Sequence[Any], **options: Any) -> RuleResult:
        __tracebackhide__ = True
        return self.rule("accepted_values", table=table, column=column, values=list(values), **options)

    def range(self, table: str, column: str, *, min: Any = None, max: Any = None, **options: Any) -> RuleResult:  # noqa: A002
        __tracebackhide__ = True
        return self.rule("range", table=table, column=column, min=min, max=max, **options)

    def expression(self, table: str, expression: str, **options: Any) -> RuleResult:
        __tracebackhide__ = True
        return self.rule("expression", table=table, expression=expression, **options)

    def freshness(self, table: str, column: str, *, max_age: str, **options: Any) -> RuleResult:
        __tracebackhide__ = True
        return self.rule("freshness", table=table, column=column, max_age=max_age, **options)

    def no_future(self, table: str, column: str, *, tolerance: str = "0s", **options: Any) -> RuleResult:
        __tracebackhide__ = True
        return self.rule("no_future", table=table, column=column, tolerance=tolerance, **options)

    def row_count(self, table: str, *, min: int | None = None, max: int | None = None, **options: Any) -> RuleResult:  # noqa: A002
        __tracebackhide__ = True
        return self.rule("row_count", table=table, min=min, max=max, **options)

    def reconcile(
        self, table: str, column: str, *, child: str, of: str = "", aggregate: str = "sum", **options: Any
    ) -> RuleResult:
        __tracebackhide__ = True
        return self.rule("reconcile", table=table, column=column, child=child, of=of, aggregate=aggregate, **options)

    def sql(self, query: str, **options: Any) -> RuleResult:
        __tracebackhide__ = True
        return self.rule("sql", sql=query, **options)

    def query(self, sql: str, *, params: Mapping[str, Any] | None = None, runs: int = 50, **options: Any) -> RuleResult:
        """Time a key query ``runs`` times: figures ``p50``, ``p95``, ``max`` (seconds), judged by
        ``thresholds=[...]`` here and the marker's (``@pytest.mark.data(thresholds=["p95 < 50ms"])``)."""
        __tracebackhide__ = True
        from pytest_prodgate.data.query import make_check

        return self.check(make_check("query", _options({"sql": sql, "params": params, "runs": runs, **options})))

    def explain(
        self,
        sql: str,
        *,
        params: Mapping[str, Any] | None = None,
        large_tables: Sequence[str] = (),
        min_rows: int | None = None,
        **options: Any,
    ) -> RuleResult:
        """Fail on a full (sequential) scan of a large table in the query's plan: figure ``full_scans``."""
        __tracebackhide__ = True
        from pytest_prodgate.data.query import make_check

        values = {"sql": sql, "params": params, "large_tables": list(large_tables), "min_rows": min_rows, **options}
        return self.check(make_check("explain", _options(values)))


def _names(columns: str | Sequence[str]) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns)


def _options(options: dict[str, Any]) -> dict[str, Any]:
    # Python callers pass None for "not given"; the rules file simply leaves the key out.
    return {key: value for key, value in options.items() if value is not None}


@pytest.fixture(scope="session")
def data_checker(request: pytest.FixtureRequest, prodgate: Prodgate) -> Iterator[DataChecker]:
    """The run's ``DataChecker`` for the configured database (override it to point elsewhere)."""
    yield checker_for(request.config)


@pytest.fixture
def data(request: pytest.FixtureRequest, gate: Gate, prodgate: Prodgate) -> DataGate:
    """Data rules run in the database: ``data.unique("products", "sku")``, ``data.not_null(...)``..."""
    checker: DataChecker = request.getfixturevalue("data_checker")
    node = request.node if isinstance(request.node, pytest.Item) else None
    return DataGate(checker, gate, node)


_rules_key = pytest.StashKey[dict[Path, list["RuleEntry"]]]()


def _base_dir(config: pytest.Config) -> Path:
    if config.inipath is not None:
        return config.inipath.parent
    return config.rootpath


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    section = settings(config).section("data")
    parsed: dict[Path, list[RuleEntry]] = {}
    for name in section.get("rules", []):
        from pytest_prodgate.data.rulesfile import load_rules

        path = (_base_dir(config) / name).resolve()
        try:
            parsed[path] = load_rules(path)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[_rules_key] = parsed


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> DataRulesFile | None:
    parsed = parent.config.stash.get(_rules_key, {})
    if parsed and file_path.resolve() in parsed:
        return DataRulesFile.from_parent(parent, path=file_path)
    return None


class DataRulesFile(pytest.File):
    """A rules file: one ``DataRuleItem`` per rule, named by the rule's id."""

    def collect(self) -> Iterator[DataRuleItem]:
        from pytest_prodgate.data.rulesfile import apply_overrides

        current = settings(self.config)
        severity = current.section("data").get("severity", {})
        for entry in self.config.stash[_rules_key][self.path.resolve()]:
            rule = apply_overrides(entry.rule, current.environment, severity)
            item = DataRuleItem.from_parent(self, name=rule.id, rule=rule, entry=entry)
            item.add_marker(pytest.mark.data(severity=rule.severity))
            yield item


class DataRuleItem(pytest.Item):
    """One data rule run as a gate: figures recorded into its ``Gate``, a miss raises ``GateFailed``."""

    def __init__(self, *, rule: Rule, entry: RuleEntry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        self.entry = entry

    def runtest(self) -> None:
        result = checker_for(self.config).run(self.rule)
        gate = gate_for(self)
        gate.record_many(result.figures)
        gate.attach("data", [result.to_dict()])
        # The rule's judged thresholds are the gate's, passing or not (summary table, JSON report).
        gate.checked.extend(result.results)
        result.check()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (GateFailed, ConfigError, TargetError)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int, str]:
        # Not the bare name: pytest -v would show the dots of a domain equal to the node id as "::".
        return self.path, self.entry.line - 1, f"rule {self.name}"
