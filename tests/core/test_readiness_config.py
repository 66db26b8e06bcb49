"""The ``[tool.prodgate.readiness]`` section: switched-on checks, waivers, per-environment variables."""

from __future__ import annotations

import pytest

from pytest_prodgate.config import load_config
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.readiness.config import enabled_checks, waivers_of
from pytest_prodgate.readiness.runner import run_check


def test_django_expands_to_every_django_check_when_switched_on() -> None:
    assert enabled_checks({"checks": ["env", "django", "django-deploy"]}) == [
        "env",
        "django-settings",
        "django-deploy",
        "django-migrations",
        "django-static",
        "django-services",
        "django-logging",
    ]


def test_waiver_without_reason_is_a_config_error_when_read() -> None:
    with pytest.raises(ConfigError, match=r"'security.W004': a waiver needs a reason"):
        waivers_of({"waivers": {"security.W004": " "}})


def test_environment_table_adds_required_variables_when_chosen() -> None:
    table = {
        "readiness": {"env": {"required": {"A": "int"}}},
        "environments": {"production": {"readiness": {"env": {"required": {"B": "secret"}}}}},
    }
    base = load_config(None, table=table).section("readiness")
    production = load_config(None, "production", table=table).section("readiness")

    assert run_check("env", base, environ={"A": "1"}).passed
    result = run_check("env", production, environ={"A": "1"})
    assert [f.line() for f in result.findings] == ["[env.missing] 1 required variable(s) not set: B"]


def test_check_option_of_wrong_type_names_the_key_when_loaded() -> None:
    with pytest.raises(ConfigError, match=r"\[tool.prodgate.readiness.redis.pings\] must be an integer"):
        load_config(None, table={"readiness": {"redis": {"pings": "three"}}})
