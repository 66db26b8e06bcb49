"""Data gates in pytest: rules files collected as items, the ``data`` fixture, severity, usage errors."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import data_shop

pytest_plugins = ["pytester"]


def _shop(pytester: pytest.Pytester, *, spoilt: bool, data_table: str = "") -> str:
    url = f"sqlite:///{pytester.path / 'shop.db'}"
    engine = sa.create_engine(url)
    data_shop.seed_healthy(engine)
    if spoilt:
        data_shop.spoil(engine)
    engine.dispose()
    shutil.copy(data_shop.RULES_FILE, pytester.path / "data.toml")
    pytester.makepyprojecttoml(
        f'[tool.prodgate]\ndatabase_url = "{url}"\n\n[tool.prodgate.data]\nrules = ["data.toml"]\nsample_size = 5\n{data_table}'
    )
    return url


def test_every_rule_is_a_passing_data_gate_when_the_data_is_healthy(pytester: pytest.Pytester) -> None:
    _shop(pytester, spoilt=False)
    result = pytester.runpytest("-p", "no:randomly", "-v")
    result.assert_outcomes(passed=13)
    result.stdout.fnmatch_lines(["data.toml::order_items.order_id->orders.id PASSED*", "*prodgate gates: 13 pass*"])


def test_each_rule_fails_with_its_exact_count_and_sample_keys_when_the_data_is_bad(pytester: pytest.Pytester) -> None:
    _shop(pytester, spoilt=True)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=12)
    result.stdout.fnmatch_lines(
        [
            "*_ rule order_items.order_id->orders.id _*",
            "orphans in order_items.order_id -> orders.id: violations = 3, wanted == 0",
            "*sample (3 of 3 offending rows):",
            "  id    order_id",
            "  9001  9001",
            "  9002  9002",
            "  9003  9003",
            "SQL that finds them all (sqlite):",
            "  SELECT order_items.id, order_items.order_id",
        ]
    )
    lines = result.stdout.lines
    for rule_id, count in data_shop.BAD_COUNTS.items():
        if count and rule_id not in ("freshness(customers.created_at)", "row_count(categories)"):
            assert any(line.endswith(f": violations = {count}, wanted == 0") for line in lines), rule_id
    result.stdout.fnmatch_lines(
        [
            "duplicates in products.sku: violations = 2, wanted == 0",
            "*",
            "*",
            "*",
            "*",
            "*sku*rows*first_id*last_id",
            "  SKU-00001  2     1         9001",
        ]
    )
    result.stdout.fnmatch_lines(["row count of categories: rows = 4, wanted <= 3"])
    result.stdout.fnmatch_lines(
        ["stale data in customers.created_at (newest older than 36h): newest_age = 48 h, wanted <= 36 h"]
    )


def test_only_data_gates_run_when_selected_with_m_data(pytester: pytest.Pytester) -> None:
    _shop(pytester, spoilt=False)
    pytester.makepyfile(test_other="def test_plain():\n    pass\n")
    result = pytester.runpytest("-m", "data", "--strict-markers")
    result.assert_outcomes(passed=13, deselected=1)


def test_failing_rule_only_warns_when_its_severity_is_warning(pytester: pytest.Pytester) -> None:
    _shop(pytester, spoilt=True, data_table='severity = { "*" = "warning" }\n')
    result = pytester.runpytest("-p", "no:randomly")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("warned"), outcomes.get("failed")) == (1, 12, None)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["warning (non-blocking) data.toml::order_items.order_id->orders.id:"])


def test_environment_override_makes_a_rule_warn_when_that_environment_is_chosen(pytester: pytest.Pytester) -> None:
    _shop(pytester, spoilt=True)
    rules = (pytester.path / "data.toml").read_text()
    rules = rules.replace('to = "orders.id"\n', 'to = "orders.id"\n[rule.environments.dev]\nseverity = "warning"\n', 1)
    (pytester.path / "data.toml").write_text(rules)
    pytester.path.joinpath("pyproject.toml").write_text(
        pytester.path.joinpath("pyproject.toml").read_text() + "\n[tool.prodgate.environments.dev]\n"
    )
    node = "data.toml::order_items.order_id->orders.id"
    blocking = pytester.runpytest(node)
    assert (blocking.ret, blocking.parseoutcomes().get("failed")) == (1, 1)
    warned = pytester.runpytest(node, "--prodgate-env", "dev")
    assert warned.ret == 0
    assert warned.parseoutcomes().get("warned") == 1


def test_rules_file_mistake_is_a_one_line_usage_error_naming_rule_and_line_when_collected(
    pytester: pytest.Pytester,
) -> None:
    _shop(pytester, spoilt=False)
    rules = pytester.path / "data.toml"
    rules.write_text(rules.read_text().replace('column = "price_cents"', 'colum = "price_cents"', 1))
    result = pytester.runpytest()
    assert result.ret == 4
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert errors == [
        f"ERROR: {rules}:14: rule #3 (not_null on products): unknown key 'colum' for a not_null rule (did you mean 'column'?)"
    ]


def test_unknown_rule_type_is_a_usage_error_naming_rule_and_line_when_collected(pytester: pytest.Pytester) -> None:
    _shop(pytester, spoilt=False)
    rules = pytester.path / "data.toml"
    rules.write_text(rules.read_text() + '\n[[rule]]\ntype = "orphans"\ntable = "order_items"\n')
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [f"ERROR: {rules}:81: rule #14 (orphans on order_items): unknown rule type 'orphans' (known: *)"]
    )


DATA_TESTS = """
import pytest

@pytest.mark.data
def test_no_orphans(data, gate):
    result = data.relationship("order_items", "order_id", to="orders.id")
    assert gate.figures["violations"] == result.violations

@pytest.mark.data
def test_few_null_prices_are_tolerated(data):
    data.not_null("products", "price_cents", thresholds=["violations <= 5", "null_rate < 20%"])

@pytest.mark.data(severity="warning")
def test_totals(data):
    data.reconcile("orders", "total_cents", child="order_items.order_id", of="quantity * unit_price_cents")

@pytest.mark.data
def test_typo(data):
    data.not_null("products", "price")
"""


def test_data_fixture_records_figures_and_fails_with_the_sample_when_a_rule_misses(pytester: pytest.Pytester) -> None:
    _shop(pytester, spoilt=True)
    (pytester.path / "data.toml").unlink()
    pytester.makepyprojecttoml((pytester.path / "pyproject.toml").read_text().replace('rules = ["data.toml"]', ""))
    pytester.makepyfile(test_shop=DATA_TESTS)
    result = pytester.runpytest("-p", "no:randomly", "-rA")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("failed"), outcomes.get("passed"), outcomes.get("warned"), outcomes.get("errors")) == (
        1,
        1,
        1,
        1,
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_no_orphans _*",
            "orphans in order_items.order_id -> orders.id: violations = 3, wanted == 0",
            "*9001  9001*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*test_typo*", "*column 'price' is not a column of 'products' (did you mean 'price_cents'?)*"]
    )
    result.stdout.fnmatch_lines(
        [
            "warning (non-blocking) test_shop.py::test_totals:",
            "*wrong orders.total_cents against SUM(*) of order_items: violations = 5*",
        ]
    )


def test_data_fixture_explains_what_to_set_when_no_database_is_configured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_shop="import pytest\n\n@pytest.mark.data\ndef test_x(data):\n    data.row_count('orders')\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    assert (
        "no database for the data gates: set database_url in [tool.prodgate.data] or [tool.prodgate], "
        "or PRODGATE_DATABASE_URL, or run against the embedded demo (--prodgate-demo)"
    ) in result.stdout.lines


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVICE_TEST = """
from tests.services import require_port

def test_needs_postgres():
    require_port("127.0.0.1", {port}, "PostgreSQL")
"""


@pytest.mark.parametrize(("ci", "outcome"), [("true", "failed"), ("", "skipped")])
def test_missing_service_fails_in_ci_and_skips_elsewhere_when_nothing_listens(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    monkeypatch.setenv("CI", ci)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    pytester.makepyfile(test_service=SERVICE_TEST.format(port=_closed_port()))
    result = pytester.runpytest("-rs")
    result.assert_outcomes(**{outcome: 1})
    if ci:
        result.stdout.fnmatch_lines(
            ["*PostgreSQL is not reachable on 127.0.0.1:*(CI=true: a missing service fails the test)*"]
        )


def test_data_settings_are_validated_when_pytest_starts(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.prodgate.data]\nsample_size = "ten"\n')
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: *pyproject.toml*data.sample_size* must be an integer, got 'ten'"])


def test_missing_rules_file_is_a_usage_error_when_the_configuration_names_it(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.prodgate.data]\nrules = ["gates/missing.toml"]\n')
    result = pytester.runpytest()
    assert result.ret == 4
    assert [line for line in result.stderr.lines if line.startswith("ERROR:")] == [
        f"ERROR: {pytester.path / 'gates' / 'missing.toml'}: rules file not found"
    ]
