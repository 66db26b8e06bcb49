"""Environment variables, system resources (psutil) and Redis (real server on 127.0.0.1)."""

from __future__ import annotations

import socket

import pytest

from pytest_prodgate.errors import ConfigError, GateFailed
from pytest_prodgate.readiness.cache import check_redis
from pytest_prodgate.readiness.env import check_env
from pytest_prodgate.readiness.system import check_system
from pytest_prodgate.thresholds import Verdict
from tests.services import REDIS_URL, require_port

STRONG = "q7R!vL2#pX9@wZ4$kM8%tN3^bH6&cJ1*"
REQUIRED = {
    "DATABASE_URL": "dsn",
    "SECRET_KEY": "secret",
    "WORKERS": "int",
    "DEBUG": "bool",
    "PUBLIC_URL": "url",
    "ADMIN_EMAIL": "email",
    "LOG_LEVEL": ["info", "warning", "error"],
}
GOOD = {
    "DATABASE_URL": "postgresql://app:Db-pa55-word@db.internal/shop",
    "SECRET_KEY": STRONG,
    "WORKERS": "4",
    "DEBUG": "false",
    "PUBLIC_URL": "https://shop.internal",
    "ADMIN_EMAIL": "ops@shop.internal",
    "LOG_LEVEL": "warning",
}


def test_env_passes_when_every_variable_is_set_typed_and_strong() -> None:
    result = check_env(REQUIRED, environ=GOOD)

    assert result.verdict is Verdict.PASS, result.message()
    assert result.figures == {"required": 7, "missing": 0, "invalid": 0, "problems": 0}


def test_env_names_every_missing_variable_in_one_finding_when_several_are_unset() -> None:
    environ = {k: v for k, v in GOOD.items() if k not in ("DATABASE_URL", "ADMIN_EMAIL", "LOG_LEVEL")}

    result = check_env(REQUIRED, environ=environ)

    assert result.verdict is Verdict.FAIL
    assert [f.line() for f in result.findings] == [
        "[env.missing] 3 required variable(s) not set: DATABASE_URL, ADMIN_EMAIL, LOG_LEVEL"
    ]
    assert result.figures["missing"] == 3


def test_env_gives_one_reason_per_variable_and_never_a_value_when_values_are_wrong() -> None:
    environ = {
        "DATABASE_URL": "db.internal:5432",
        "SECRET_KEY": "django-insecure-0a9s8d7f6g5h4j3k2l1",
        "WORKERS": "four",
        "DEBUG": "maybe",
        "PUBLIC_URL": "https://example.com/shop",
        "ADMIN_EMAIL": "ops-at-shop",
        "LOG_LEVEL": "verbose",
    }

    result = check_env(REQUIRED, environ=environ)

    assert [f.line() for f in result.findings] == [
        "[env.type] DATABASE_URL (dsn) is not a DSN (expected scheme://user@host/name)",
        "[env.placeholder] SECRET_KEY (secret) looks like a placeholder (contains 'django-insecure-')",
        "[env.type] WORKERS (int) is not an integer",
        "[env.type] DEBUG (bool) is not a boolean (expected true/false, 1/0, yes/no, on/off)",
        "[env.placeholder] PUBLIC_URL (url) looks like a placeholder (contains 'example.com')",
        "[env.type] ADMIN_EMAIL (email) is not an email address",
        "[env.type] LOG_LEVEL (choice) is not one of info, warning, error",
    ]
    message = result.message()
    for value in environ.values():
        assert value not in message


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("changeme", "is a placeholder"),
        ("", "is set but empty"),
        ("short1A!", "is too weak: 8 characters, wanted at least 32"),
        ("a" * 40, "1 kinds of character, wanted at least 3"),
    ],
)
def test_env_flags_secret_when_it_is_a_placeholder_empty_or_weak(value: str, reason: str) -> None:
    result = check_env({"API_TOKEN": "str"}, environ={"API_TOKEN": value})

    assert result.verdict is Verdict.FAIL
    assert reason in result.message()
    if value:
        assert value not in result.message()


def test_env_failure_raises_gate_failed_with_every_line_when_raised() -> None:
    result = check_env({"A": "int", "B": "int"}, environ={"B": "x"})

    with pytest.raises(GateFailed) as excinfo:
        result.raise_for_problems()

    assert str(excinfo.value).splitlines() == [
        "2 problems: env.missing, env.type",
        "  - [env.missing] 1 required variable(s) not set: A",
        "  - [env.type] B (int) is not an integer",
    ]


def test_env_rejects_unknown_type_with_the_variable_named_when_config_is_wrong() -> None:
    with pytest.raises(ConfigError, match=r"PORT: 'integer' is not a variable type. Expected one of str, int, bool"):
        check_env({"PORT": "integer"}, environ={})


def test_env_waives_a_finding_id_with_its_reason_when_configured() -> None:
    result = check_env({"A": "int"}, environ={"A": "x"}, waivers={"env.type": "A is parsed leniently"})

    assert result.verdict is Verdict.PASS
    assert "waived env.type: A is parsed leniently" in result.lines()


def test_system_records_cpu_memory_disk_and_fds_when_measured() -> None:
    result = check_system(thresholds=["cpu <= 100%", "memory < 100%", "disk < 100%", "open_fds >= 1"])

    assert result.verdict is Verdict.PASS, result.message()
    for name in ("cpu", "memory", "disk", "disk_free", "open_fds", "fds_used", "load", "load_per_core"):
        assert name in result.figures
    assert result.figures["load"] >= 0 and result.figures["load_per_core"] >= 0
    assert 0 <= result.figures["cpu"] <= 1 and 0 < result.figures["memory"] < 1


def test_system_fails_with_measured_against_wanted_when_threshold_is_missed() -> None:
    result = check_system(thresholds=["memory < 0.001%", "disk < 0.001%"])

    assert result.verdict is Verdict.FAIL
    assert [f.id for f in result.findings] == ["threshold.memory", "threshold.disk"]
    assert ", wanted < 0.001 %" in result.findings[0].message
    assert result.findings[0].message.startswith("memory = ")


def test_system_load_fails_with_the_measured_average_when_no_load_is_allowed() -> None:
    # A load average is never negative: this threshold cannot hold, so the message must show the figure.
    result = check_system(thresholds=["load_per_core < 0"])

    assert result.verdict is Verdict.FAIL
    assert [f.id for f in result.findings] == ["threshold.load_per_core"]
    assert result.findings[0].message.startswith("load_per_core = ")
    assert ", wanted < 0" in result.findings[0].message


def test_redis_passes_with_ping_latency_when_server_answers() -> None:
    require_port("127.0.0.1", 6379, "Redis")

    result = check_redis(REDIS_URL, thresholds=["latency < 2s"])

    assert result.verdict is Verdict.PASS, result.message()
    assert 0 < result.figures["latency"] < 2
    assert "answered 3 PING(s)" in result.message()


def test_redis_fails_when_latency_threshold_is_missed() -> None:
    require_port("127.0.0.1", 6379, "Redis")

    result = check_redis(REDIS_URL, thresholds=["latency < 1us"])

    assert [f.id for f in result.findings] == ["threshold.latency"]


def test_redis_fails_with_masked_password_when_port_is_closed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    result = check_redis(f"redis://:Red1s-pa55@127.0.0.1:{port}/0", timeout=1)

    assert result.verdict is Verdict.FAIL
    assert [f.id for f in result.findings] == ["redis.unreachable"]
    assert "Red1s-pa55" not in result.message()
    assert "Connection refused" in result.message()
