"""The data core stands without pytest, and its pieces behave on their own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_prodgate.data.rules import RULE_TYPES, make_rule
from pytest_prodgate.data.runner import DataChecker
from pytest_prodgate.errors import ConfigError

DATA_CORE = ["names", "rulebase", "linked_rules", "rules", "result", "runner", "rulesfile", "config", "cli"]


def test_data_core_imports_when_pytest_is_unavailable() -> None:
    code = "import sys; sys.modules['pytest'] = None\n" + "\n".join(
        f"import pytest_prodgate.data.{m}" for m in DATA_CORE
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_every_rule_type_is_registered_when_the_module_loads() -> None:
    assert list(RULE_TYPES) == [
        "unique", "not_null", "relationship", "accepted_values", "range", "expression",
        "freshness", "no_future", "row_count", "reconcile", "sql",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "options", "rule_id", "headline"),
    [
        ("relationship", {"table": "order_items", "column": "order_id", "to": "orders.id"},
         "order_items.order_id->orders.id", "orphans in order_items.order_id -> orders.id"),
        ("unique", {"table": "orders", "columns": ["customer_id", "created_at"]},
         "unique(orders.customer_id,created_at)", "duplicates in orders.customer_id,created_at"),
        ("range", {"table": "t", "column": "c", "min": 0, "max": 1, "inclusive": False},
         "range(t.c)", "values outside (0, 1) in t.c"),
        ("reconcile", {"table": "orders", "column": "item_count", "child": "order_items.order_id", "aggregate": "count"},
         "orders.item_count==COUNT(order_items.*)", "wrong orders.item_count against COUNT(order_items.*)"),
        ("row_count", {"table": "orders", "min": 10}, "row_count(orders)", "row count of orders"),
        ("sql", {"sql": "SELECT id FROM t WHERE x < 0", "name": "negative x"}, "negative x", "rows returned by negative x"),
    ],
)  # fmt: skip
def test_rule_has_a_readable_id_and_headline_when_built_from_options(
    kind: str, options: dict[str, object], rule_id: str, headline: str
) -> None:
    rule = make_rule(kind, options)
    assert (rule.id, rule.describe()) == (rule_id, headline)


def test_row_count_bounds_become_its_thresholds_when_none_are_given() -> None:
    assert make_rule("row_count", {"table": "t", "min": 1, "max": 10}).effective_thresholds() == (
        "rows >= 1",
        "rows <= 10",
    )
    assert make_rule("row_count", {"table": "t", "thresholds": ["rows > 5"]}).effective_thresholds() == ("rows > 5",)


def test_bad_database_url_is_a_config_error_without_the_password_when_it_cannot_be_parsed() -> None:
    with pytest.raises(ConfigError) as caught:
        DataChecker("not a url://user:hunter2@x")
    assert "hunter2" not in str(caught.value)
    assert "is not a SQLAlchemy URL" in str(caught.value)


def test_password_is_masked_when_the_database_is_named_in_a_result() -> None:
    checker = DataChecker("postgresql+psycopg://app:hunter2@127.0.0.1:1/db")
    assert checker.url_text == "postgresql+psycopg://app:********@127.0.0.1:1/db"
    checker.close()


def test_data_package_exports_resolve_when_imported() -> None:
    import pytest_prodgate.data as data

    assert all(hasattr(data, name) for name in data.__all__)
