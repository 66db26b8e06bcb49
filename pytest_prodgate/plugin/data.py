"""The ``data`` fixture: data rules as method calls that record figures into the gate (pytest glue).

```python
@pytest.mark.data
def test_no_orphaned_order_items(data):
    data.relationship("order_items", "order_id", to="orders.id")
```

The database is ``[tool.prodgate.data] database_url``, else ``[tool.prodgate] database_url``, else
``PRODGATE_DATABASE_URL``, else the embedded demo service's database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.config import ProdgateConfig
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.gate import Gate
from pytest_prodgate.plugin.stash import settings
from pytest_prodgate.thresholds import parse_duration

# The data engine (SQLAlchemy) is imported inside the functions that run rules, so a run without a
# data gate never loads it.
if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.context import Prodgate
    from pytest_prodgate.data.result import RuleResult
    from pytest_prodgate.data.rules import Rule
    from pytest_prodgate.data.runner import DataChecker

__all__ = ["DataGate", "checker_for", "data", "data_checker", "database_url"]

_checkers_key = pytest.StashKey[dict[str, "DataChecker"]]()


def database_url(config: pytest.Config) -> str:
    """The database the data gates look at; a ``ConfigError`` when none is configured."""
    current: ProdgateConfig = settings(config)
    url = current.section("data").get("database_url")
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
