"""Rules files: TOML and YAML, readable ids, and every mistake named with its rule and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_prodgate.data.rulesfile import apply_overrides, load_rules
from pytest_prodgate.errors import ConfigError

TOML = """\
# shop rules
[[rule]]
type = "relationship"
table = "order_items"
column = "order_id"
to = "orders.id"

[[rule]]
type = "unique"
table = "products"
columns = ["sku", "category_id"]
severity = "warning"
[rule.environments.production]
severity = "blocking"
thresholds = ["violations == 0"]
[rule.environments.dev]
thresholds = ["violations <= 5"]
"""

YAML = """\
rules:
  - type: not_null
    table: customers
    column: email

  - type: freshness
    table: orders
    column: created_at
    max_age: 1d
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_rules_get_readable_ids_and_lines_when_read_from_toml(tmp_path: Path) -> None:
    entries = load_rules(_write(tmp_path, "data.toml", TOML))
    assert [(e.rule.id, e.line) for e in entries] == [
        ("order_items.order_id->orders.id", 2),
        ("unique(products.sku,category_id)", 8),
    ]


def test_rules_get_readable_ids_and_lines_when_read_from_yaml(tmp_path: Path) -> None:
    entries = load_rules(_write(tmp_path, "data.yaml", YAML))
    assert [(e.rule.id, e.line) for e in entries] == [
        ("not_null(customers.email)", 2),
        ("freshness(orders.created_at)", 6),
    ]
    assert entries[1].rule.effective_thresholds() == ("newest_age <= 1d",)


def test_environment_table_overrides_severity_and_thresholds_when_that_environment_is_chosen(tmp_path: Path) -> None:
    rule = load_rules(_write(tmp_path, "data.toml", TOML))[1].rule
    assert rule.severity == "warning"
    production = apply_overrides(rule, "production")
    assert (production.severity, production.effective_thresholds()) == ("blocking", ("violations == 0",))
    dev = apply_overrides(rule, "dev")
    assert (dev.severity, dev.effective_thresholds()) == ("warning", ("violations <= 5",))
    assert apply_overrides(rule, None) is rule


def test_configured_severity_wins_when_a_glob_matches_the_rule_id(tmp_path: Path) -> None:
    entries = load_rules(_write(tmp_path, "data.toml", TOML))
    overridden = [apply_overrides(e.rule, "production", {"unique(*)": "warning"}).severity for e in entries]
    assert overridden == ["blocking", "warning"]


BROKEN = [
    (
        '[[rule]]\ntype = "uniq"\ntable = "t"\ncolumn = "c"\n',
        "data.toml:1: rule #1 (uniq on t): unknown rule type 'uniq' (did you mean 'unique'?)",
    ),
    (
        '[[rule]]\ntype = "unique"\ntable = "t"\ncolumn = "c"\n\n[[rule]]\ntype = "not_null"\ntable = "t"\n',
        "data.toml:6: rule #2 (not_null on t): a not_null rule needs 'column'",
    ),
    (
        '[[rule]]\ntype = "not_null"\ntable = "t"\ncolum = "c"\n',
        "data.toml:1: rule #1 (not_null on t): unknown key 'colum' for a not_null rule (did you mean 'column'?)",
    ),
    (
        '[[rule]]\ntype = "not_null"\ntable = "t"\ncolumn = "c"\nseverity = "fatal"\n',
        "data.toml:1: rule #1 (not_null on t): severity 'fatal' is not 'blocking' or 'warning'",
    ),
    (
        '[[rule]]\ntype = "not_null"\ntable = "t"\ncolumn = "c"\nthresholds = ["violations < few"]\n',
        "data.toml:1: rule 'not_null(t.c)': threshold 'violations < few' in rule 'not_null(t.c)' thresholds: 'few' is not a number. Expected e.g. 10 or 0",
    ),
    (
        '[[rule]]\ntype = "not_null"\ntable = "t"\ncolumn = "c"\n[[rule]]\ntype = "not_null"\ntable = "t"\ncolumn = "c"\n',
        "data.toml:5: rule #2: id 'not_null(t.c)' is already used by rule #1 (line 1); give one of them a 'name'",
    ),
    (
        '[[rule]]\ntype = "range"\ntable = "t"\ncolumn = "c"\n',
        "data.toml:1: rule #1 (range on t): a range rule needs 'min', 'max' or both",
    ),
    (
        '[[rule]]\ntype = "freshness"\ntable = "t"\ncolumn = "c"\nmax_age = "soon"\n',
        "data.toml:1: rule #1 (freshness on t): max_age 'soon' is not a duration. Expected e.g. 500ms, 2s or 1d",
    ),
    (
        '[[rule]]\ntype = "no_future"\ntable = "t"\ncolumn = "c"\nutc_text = "yes"\n',
        "data.toml:1: rule #1 (no_future on t): utc_text must be true or false, got 'yes'",
    ),
    (
        '[[rule]]\ntype = "unique"\ntable = "t"\ncolumn = "c"\n[rule.environments.prod]\nseverty = "warning"\n',
        "data.toml:1: rule 'unique(t.c)': environments.prod: unknown key 'severty' (overridable: severity, thresholds)",
    ),
    (
        '[[rule]]\ntype = "unique"\ntable = "t"\ncolumn = true\n',
        "data.toml:1: rule #1 (unique on t): column must be a non-empty name, got True",
    ),
    (
        '[[rule]]\ntype = "relationship"\ntable = "t"\ncolumns = ["a", "b"]\nto = "p.id"\n',
        "data.toml:1: rule #1 (relationship on t): a relationship rule takes exactly one column",
    ),
    ('[[rule]\ntype = "unique"\n', "data.toml: not valid TOML: "),
    (
        '[[rules]]\ntype = "unique"\ntable = "t"\ncolumn = "c"\n[other]\nx = 1\n',
        "data.toml: unknown top-level key 'other'; rules go in [[rule]] (TOML) or rules: (YAML)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN, ids=[b[1].split(": ", 2)[-1][:40] for b in BROKEN])
def test_mistake_is_one_line_naming_rule_and_line_when_the_file_is_wrong(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, "data.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path}/{expected}"), message


def test_yaml_mistake_names_its_line_when_a_key_is_unknown(tmp_path: Path) -> None:
    path = _write(tmp_path, "data.yml", YAML.replace("max_age: 1d", "max_age: 1d\n    colour: red"))
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert str(caught.value) == (
        f"{path}:6: rule #2 (freshness on orders): unknown key 'colour' for a freshness rule (did you mean 'column'?)"
    )


def test_null_among_accepted_values_is_a_mistake_when_yaml_writes_one(tmp_path: Path) -> None:
    # In SQL ``status NOT IN ('paid', NULL)`` is never true: the rule would pass every row.
    path = _write(
        tmp_path,
        "data.yml",
        "rules:\n  - type: accepted_values\n    table: orders\n    column: status\n    values: [paid, null]\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert str(caught.value) == (
        f"{path}:2: rule #1 (accepted_values on orders): values ['paid', None] hold a null, which would make "
        "the rule pass every row (NULLs are never judged by accepted_values; add a not_null rule for them)"
    )


def test_missing_file_is_named_when_the_rules_file_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path / "nope.toml")
    assert str(caught.value) == f"{tmp_path / 'nope.toml'}: rules file not found"


def test_yaml_and_toml_give_the_same_rules_when_they_say_the_same(tmp_path: Path) -> None:
    import sys

    import yaml

    from tests import data_shop

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    as_data = tomllib.loads(data_shop.RULES_FILE.read_text())
    path = _write(tmp_path, "shop.yaml", yaml.safe_dump({"rules": as_data["rule"]}, sort_keys=False))
    from_yaml = [entry.rule for entry in load_rules(path)]
    from_toml = [entry.rule for entry in load_rules(data_shop.RULES_FILE)]
    assert from_yaml == from_toml
