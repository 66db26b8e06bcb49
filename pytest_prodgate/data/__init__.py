"""Data gates: integrity, consistency and calculation-accuracy rules run as SQL inside the database.

Plain Python (never imports pytest): ``DataChecker(url).run(make_rule("unique", {...}))`` counts the
violations with one query and fetches a sample of at most N offending rows with another;
``checker.run(QueryLatency(sql=...))`` / ``QueryPlan`` time a key query or check its plan for full scans. The pytest
glue lives in ``fixtures.py`` (the ``data`` fixture) and ``collect.py`` (rules files as gates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_prodgate.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.data.query import QueryLatency, QueryPlan
    from pytest_prodgate.data.result import RuleResult
    from pytest_prodgate.data.rulebase import Rule
    from pytest_prodgate.data.rules import RULE_TYPES, make_rule
    from pytest_prodgate.data.rulesfile import RuleEntry, apply_overrides, load_rules
    from pytest_prodgate.data.runner import DataChecker, RuleTimeout

__all__ = [
    "RULE_TYPES",
    "DataChecker",
    "QueryLatency",
    "QueryPlan",
    "Rule",
    "RuleEntry",
    "RuleResult",
    "RuleTimeout",
    "apply_overrides",
    "load_rules",
    "make_rule",
]

# Each submodule (and its engine) is imported when one of its names is first used.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".query": ("QueryLatency", "QueryPlan"),
        ".result": ("RuleResult",),
        ".rulebase": ("Rule",),
        ".rules": ("RULE_TYPES", "make_rule"),
        ".rulesfile": ("RuleEntry", "apply_overrides", "load_rules"),
        ".runner": ("DataChecker", "RuleTimeout"),
    },
)
