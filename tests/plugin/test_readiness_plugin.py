"""Readiness gates in pytest: collected from configuration, the ``readiness`` fixture, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import POSTGRES_URL, require_port

pytest_plugins = ["pytester"]

SECRET = "Xy9#kP2$vL7!qR4@mN8%tB3^wZ6&cJ1*"
DUMP_ENTRIES = """
import json

def pytest_sessionfinish(session):
    from pytest_prodgate.plugin.stash import gate_entries
    with open("gate-entries.json", "w") as handle:
        json.dump([entry.to_dict() for entry in gate_entries(session.config)], handle)
"""


def test_switched_on_checks_become_readiness_items_when_collected(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.prodgate.readiness]
        checks = ["env", "system", "django"]
        [tool.prodgate.readiness.django]
        settings = "mysite.settings"
        """
    )
    pytester.makepyfile("def test_unrelated(): pass")

    result = pytester.runpytest("--collect-only", "-q", "-m", "readiness")

    result.stdout.fnmatch_lines(
        [
            "readiness::env",
            "readiness::system",
            "readiness::django-settings",
            "readiness::django-deploy",
            "readiness::django-migrations",
            "readiness::django-static",
            "readiness::django-services",
            "readiness::django-logging",
            "8/9 tests collected (1 deselected)*",
        ]
    )


def test_missing_variables_are_named_in_one_failure_and_no_secret_is_shown_when_env_gate_runs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.prodgate.readiness]
        checks = ["env"]
        [tool.prodgate.readiness.env.required]
        API_TOKEN = "secret"
        DATABASE_URL = "dsn"
        [tool.prodgate.environments.production.readiness.env.required]
        SENTRY_DSN = "dsn"
        SMTP_PASSWORD = "secret"
        ADMIN_EMAIL = "email"
        """
    )
    pytester.makeconftest(DUMP_ENTRIES)
    monkeypatch.setenv("API_TOKEN", SECRET)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:{SECRET}@db.internal/shop")
    monkeypatch.setenv("ADMIN_EMAIL", "not-an-address")
    for name in ("SENTRY_DSN", "SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

    base = pytester.runpytest("-p", "no:randomly")
    production = pytester.runpytest("--prodgate-env", "production", "-rA", f"--junitxml={pytester.path / 'junit.xml'}")

    base.assert_outcomes(passed=1)
    production.assert_outcomes(failed=1)
    production.stdout.fnmatch_lines(
        [
            "*_ readiness::env _*",
            "2 problems: env.missing, env.type",
            "  - [[]env.missing[]] 2 required variable(s) not set: SENTRY_DSN, SMTP_PASSWORD",
            "  - [[]env.type[]] ADMIN_EMAIL (email) is not an email address",
            "readiness  readiness::env  FAIL  2 problems: env.missing, env.type",
        ]
    )
    output = production.stdout.str() + production.stderr.str()
    reports = (pytester.path / "junit.xml").read_text() + (pytester.path / "gate-entries.json").read_text()
    for text in (output, reports):
        assert SECRET not in text
        assert "not-an-address" not in text
    entry = json.loads((pytester.path / "gate-entries.json").read_text())[0]
    assert entry["verdict"] == "fail" and entry["figures"]["missing"] == 2


def test_database_gate_fails_with_masked_password_when_url_points_at_closed_port(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.prodgate.readiness]
        checks = ["database"]
        [tool.prodgate.readiness.database]
        url = "postgresql+psycopg://app:Sup3r-s3cret@127.0.0.1:1/test"
        timeout = "2s"
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "[[]database.unreachable[]] postgresql+psycopg://app:????????@127.0.0.1:1/test unreachable after * ms: *; check that the database server is running*"
        ]
    )
    assert "app:********@127.0.0.1" in result.stdout.str()
    assert "Sup3r-s3cret" not in result.stdout.str()


def test_readiness_fixture_records_latency_into_gate_when_database_answers(pytester: pytest.Pytester) -> None:
    require_port("127.0.0.1", 5432, "PostgreSQL")
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.readiness(thresholds=["latency < 5s"])
        def test_database(readiness):
            result = readiness.database({POSTGRES_URL!r})
            assert result.figures["latency"] > 0

        @pytest.mark.readiness
        def test_broken(readiness):
            readiness.database("postgresql+psycopg://app:pw-123456@127.0.0.1:1/test", timeout="1s")
        """
    )

    result = pytester.runpytest("-p", "no:randomly")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "readiness  test_broken    FAIL  [[]database.unreachable[]] postgresql+psycopg://app:*",
            "           test_database  PASS  latency * < 5 s",
        ]
    )
    assert "pw-123456" not in result.stdout.str()


def test_readiness_fixture_runs_configured_env_check_with_overrides_when_called(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKERS", "four")
    pytester.makepyfile(
        """
        import pytest
        from pytest_prodgate.errors import GateFailed

        @pytest.mark.readiness
        def test_env(readiness, gate):
            with pytest.raises(GateFailed, match=r"\\[env.type\\] WORKERS \\(int\\) is not an integer"):
                readiness.env({"WORKERS": "int"})
            assert gate.figures["invalid"] == 1
        """
    )

    pytester.runpytest().assert_outcomes(passed=1)


def test_error_verdict_is_shown_when_a_check_cannot_run(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.prodgate.readiness]
        checks = ["coverage"]
        [tool.prodgate.readiness.coverage]
        data_file = "missing/.coverage"
        """
    )

    result = pytester.runpytest()

    result.stdout.fnmatch_lines(
        ["*could not run: no coverage data file at *missing/.coverage*", "readiness  readiness::coverage  ERROR  *"]
    )
    assert result.ret == 1


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('checks = ["django-deploy"]', "[tool.prodgate.readiness.django] settings is required by 'django-deploy'"),
        ('checks = ["database"]', "[tool.prodgate.readiness.database] url is required by 'database'"),
        (
            'checks = ["alembic"]\n[tool.prodgate.readiness.alembic]\nurl = "sqlite://"',
            "[tool.prodgate.readiness.alembic] config (or script_location) is required by 'alembic'",
        ),
        (
            'checks = ["env"]\n[tool.prodgate.readiness.env.required]\nPORT = "integer"',
            "[tool.prodgate.readiness.env.required] PORT: 'integer' is not a variable type",
        ),
        (
            'checks = ["env"]\n[tool.prodgate.readiness.waivers]\n"security.W008" = ""',
            "[tool.prodgate.readiness.waivers] 'security.W008': a waiver needs a reason",
        ),
        ('checks = ["envv"]', "[tool.prodgate.readiness.checks][0] must be one of 'env'"),
        ('[tool.prodgate.readiness.redis]\nurll = "redis://x"', "unknown key 'urll' (did you mean 'url'?)"),
    ],
)
def test_config_mistake_is_a_one_line_usage_error_naming_the_key_when_collected(
    pytester: pytest.Pytester, table: str, expected: str
) -> None:
    pytester.makepyprojecttoml(f"[tool.prodgate.readiness]\n{table}\n")

    result = pytester.runpytest()

    assert result.ret == 4
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and expected in errors[0], result.stderr.lines
    assert "Traceback" not in result.stderr.str()


def test_django_deploy_gate_names_check_ids_when_project_is_fresh(pytester: pytest.Pytester) -> None:
    pytest.importorskip("django")
    django_admin = Path(sys.executable).parent / "django-admin"
    subprocess.run([str(django_admin), "startproject", "mysite", str(pytester.path)], check=True, timeout=60)
    pytester.makepyprojecttoml(
        """
        [tool.prodgate.readiness]
        checks = ["django-deploy", "django-settings"]
        [tool.prodgate.readiness.waivers]
        "security.W008" = "TLS ends at the load balancer, which redirects HTTP"
        [tool.prodgate.readiness.django]
        settings = "mysite.settings"
        """
    )

    result = pytester.runpytest("-p", "no:randomly")

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "  - [[]security.W018[]] You should not have DEBUG set to True in deployment.",
            "  - [[]security.W009[]] Your SECRET_KEY has less than 50 characters*",
            "  - [[]security.W020[]] ALLOWED_HOSTS must not be empty in deployment.",
            "  - [[]security.W004[]] You have not set a value for the SECURE_HSTS_SECONDS setting*",
            "  - waived security.W008: TLS ends at the load balancer, which redirects HTTP",
            "  - [[]settings.DEBUG[]] DEBUG is True*",
        ]
    )


def test_every_django_gate_passes_when_settings_are_hardened_migrated_and_collected(pytester: pytest.Pytester) -> None:
    pytest.importorskip("django")
    import secrets

    from tests.core.test_readiness_django import HARDENED, manage

    django_admin = Path(sys.executable).parent / "django-admin"
    subprocess.run([str(django_admin), "startproject", "mysite", str(pytester.path)], check=True, timeout=60)
    (pytester.path / "mysite" / "production.py").write_text(HARDENED.format(key=secrets.token_urlsafe(64)))
    manage(pytester.path, "migrate", settings="mysite.production")
    manage(pytester.path, "collectstatic", "--noinput", settings="mysite.production")
    pytester.makepyprojecttoml(
        """
        [tool.prodgate.readiness]
        checks = ["django"]
        [tool.prodgate.readiness.django]
        settings = "mysite.production"
        behind_proxy = true
        """
    )

    result = pytester.runpytest("-p", "no:randomly")

    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [
            "readiness  readiness::django-deploy      PASS  check_messages 0",
            "           readiness::django-logging     PASS  log_handlers 1",
            "           readiness::django-migrations  PASS  pending 0",
            "           readiness::django-services    PASS  database.default.latency *",
            "           readiness::django-settings    PASS  hsts_seconds 31536000",
            "           readiness::django-static      PASS  static_files *",
        ]
    )


def test_collected_readiness_gates_run_the_same_when_distributed_with_xdist(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyprojecttoml(
        f"""
        [tool.prodgate.readiness]
        checks = ["env", "database", "coverage"]
        [tool.prodgate.readiness.env.required]
        PATH = "str"
        [tool.prodgate.readiness.database]
        url = "sqlite:///{tmp_path / "app.db"}"
        [tool.prodgate.readiness.coverage]
        data_file = "nowhere/.coverage"
        """
    )

    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:randomly")

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines_random(
        [
            "could not run: no coverage data file at *nowhere/.coverage (run: coverage run -m pytest)",
            "*readiness::coverage*ERROR*",
            "*readiness::database*PASS*",
            "*readiness::env*PASS*",
        ]
    )


def test_configured_checks_are_not_added_when_a_test_file_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.prodgate.readiness]\nchecks = ["env"]\n')
    pytester.makepyfile(test_one="def test_one(): pass")

    named = pytester.runpytest("test_one.py", "--collect-only", "-q")
    whole = pytester.runpytest("--collect-only", "-q")

    named.stdout.fnmatch_lines(["test_one.py::test_one", "1 test collected*"])
    whole.stdout.fnmatch_lines(["test_one.py::test_one", "readiness::env", "2 tests collected*"])


def test_fixture_keyword_of_unknown_name_is_an_error_naming_it_when_called(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.readiness
        def test_redis(readiness):
            readiness.redis("redis://127.0.0.1:6379/0", timout="1s")
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*readiness.redis() keyword arguments: unknown key 'timout' (did you mean 'timeout'?)*"]
    )
