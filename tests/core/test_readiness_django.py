"""Django readiness against a real project made by ``django-admin startproject`` (run in a probe subprocess)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_prodgate.readiness.django_checks import check_django
from pytest_prodgate.thresholds import Verdict
from tests.services import POSTGRES_URL, REDIS_URL, require_port

pytest.importorskip("django")

DJANGO_ADMIN = Path(sys.executable).parent / "django-admin"

HARDENED = """
from .settings import *  # noqa: F401,F403

DEBUG = False
SECRET_KEY = {key!r}
ALLOWED_HOSTS = ["shop.test"]
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
STATIC_ROOT = BASE_DIR / "collected"
LOGGING = {{
    "version": 1,
    "handlers": {{"console": {{"class": "logging.StreamHandler"}}}},
    "root": {{"handlers": ["console"], "level": "WARNING"}},
}}
"""

MODELS = """
from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100)
"""


def manage(project: Path, *args: str, settings: str = "mysite.settings") -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, "PYTHONPATH": str(project)}
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh ``django-admin startproject mysite`` plus a hardened ``mysite/production.py`` and an app."""
    root = tmp_path / "proj"
    root.mkdir()
    subprocess.run([str(DJANGO_ADMIN), "startproject", "mysite", str(root)], check=True, timeout=60)
    (root / "mysite" / "production.py").write_text(HARDENED.format(key=secrets.token_urlsafe(64)))
    return root


def add_app(project: Path) -> None:
    """A real app ``shop`` with a model, its first migration and a static file."""
    app = project / "shop"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS)
    (app / "static" / "shop").mkdir(parents=True)
    (app / "static" / "shop" / "site.css").write_text("body { color: #222; }\n")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace("INSTALLED_APPS = [", "INSTALLED_APPS = [\n    'shop',"))
    manage(project, "makemigrations", "shop", "--name", "initial")


def test_deploy_check_fails_with_debug_secret_key_hosts_and_hsts_ids_when_project_is_fresh(project: Path) -> None:
    result = check_django("mysite.settings", ["django-deploy"], project_dir=str(project))["django-deploy"]

    assert result.verdict is Verdict.FAIL
    ids = {finding.id for finding in result.findings}
    assert {"security.W018", "security.W009", "security.W020", "security.W004"} <= ids
    message = result.message()
    assert "[security.W018] You should not have DEBUG set to True in deployment." in message
    key = (project / "mysite" / "settings.py").read_text().split("SECRET_KEY = '")[1].split("'")[0]
    assert key not in message  # the key's value never shows, only Django's text about it


def test_settings_audit_names_each_setting_when_project_is_fresh(project: Path) -> None:
    result = check_django("mysite.settings", ["django-settings"], project_dir=str(project))["django-settings"]

    ids = [finding.id for finding in result.findings]
    assert ids == [
        "settings.DEBUG",
        "settings.SECRET_KEY",
        "settings.ALLOWED_HOSTS",
        "settings.SECURE_SSL_REDIRECT",
        "settings.SECURE_HSTS_SECONDS",
        "settings.SESSION_COOKIE_SECURE",
        "settings.CSRF_COOKIE_SECURE",
    ]


def test_deploy_and_settings_pass_when_settings_are_hardened(project: Path) -> None:
    results = check_django(
        "mysite.production",
        ["django-settings", "django-deploy", "django-logging"],
        project_dir=str(project),
        options={"behind_proxy": True},
    )

    for name, result in results.items():
        assert result.verdict is Verdict.PASS, f"{name}: {result.message()}"
    assert results["django-deploy"].figures["check_messages"] == 0


def test_deploy_finding_is_waived_with_its_reason_when_config_waives_it(project: Path) -> None:
    settings = project / "mysite" / "production.py"
    settings.write_text(settings.read_text().replace("SECURE_SSL_REDIRECT = True", "SECURE_SSL_REDIRECT = False"))
    waivers = {"security.W008": "TLS ends at the load balancer, which redirects HTTP"}

    failing = check_django("mysite.production", ["django-deploy"], project_dir=str(project))["django-deploy"]
    waived = check_django("mysite.production", ["django-deploy"], project_dir=str(project), waivers=waivers)

    assert [f.id for f in failing.findings] == ["security.W008"]
    assert waived["django-deploy"].verdict is Verdict.PASS
    assert [(f.id, reason) for f, reason in waived["django-deploy"].waived] == [
        ("security.W008", "TLS ends at the load balancer, which redirects HTTP")
    ]


def test_migrations_gate_names_unapplied_migration_then_passes_when_migrated(project: Path) -> None:
    add_app(project)
    manage(project, "migrate")
    (project / "shop" / "models.py").write_text(MODELS + "    price = models.IntegerField(default=0)\n")
    manage(project, "makemigrations", "shop", "--name", "add_price")

    pending = check_django("mysite.settings", ["django-migrations"], project_dir=str(project))["django-migrations"]
    manage(project, "migrate")
    applied = check_django("mysite.settings", ["django-migrations"], project_dir=str(project))["django-migrations"]

    assert pending.verdict is Verdict.FAIL
    assert [f.line() for f in pending.findings] == ["[migrations.pending] shop.0002_add_price is not applied"]
    assert pending.figures["pending"] == 1
    assert "run manage.py migrate" in pending.message()
    assert applied.verdict is Verdict.PASS, applied.message()
    assert applied.figures["pending"] == 0


def test_migrations_gate_lists_every_migration_when_database_is_empty(project: Path) -> None:
    add_app(project)

    result = check_django("mysite.settings", ["django-migrations"], project_dir=str(project))["django-migrations"]

    names = [f.message.split()[0] for f in result.findings]
    assert "shop.0001_initial" in names and "auth.0001_initial" in names
    assert result.figures["pending"] == len(names) >= 19


def test_static_gate_fails_until_collectstatic_then_passes_when_files_are_collected(project: Path) -> None:
    add_app(project)
    fresh = check_django("mysite.settings", ["django-static"], project_dir=str(project))["django-static"]
    before = check_django("mysite.production", ["django-static"], project_dir=str(project))["django-static"]
    manage(project, "collectstatic", "--noinput", settings="mysite.production")
    after = check_django("mysite.production", ["django-static"], project_dir=str(project))["django-static"]

    assert [f.id for f in fresh.findings] == ["static.STATIC_ROOT"]
    assert [f.id for f in before.findings] == ["static.collect"]
    assert after.verdict is Verdict.PASS, after.message()
    assert after.figures["uncollected"] == 0 and after.figures["static_files"] >= 1


def test_static_gate_fails_when_manifest_storage_has_no_manifest(project: Path) -> None:
    add_app(project)
    settings = project / "mysite" / "production.py"
    settings.write_text(
        settings.read_text()
        + 'STORAGES = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}, "staticfiles": '
        '{"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}\n'
    )
    manage(project, "collectstatic", "--noinput", settings="mysite.production")
    with_manifest = check_django("mysite.production", ["django-static"], project_dir=str(project))["django-static"]
    (project / "collected" / "staticfiles.json").unlink()
    without = check_django("mysite.production", ["django-static"], project_dir=str(project))["django-static"]

    assert with_manifest.verdict is Verdict.PASS, with_manifest.message()
    assert [f.id for f in without.findings] == ["static.manifest"]
    assert "staticfiles.json is missing from STATIC_ROOT" in without.message()


def test_services_gate_passes_when_postgres_and_redis_answer_and_names_the_broken_ones(project: Path) -> None:
    require_port("127.0.0.1", 5432, "PostgreSQL")
    require_port("127.0.0.1", 6379, "Redis")
    pytest.importorskip("psycopg")
    settings = project / "mysite" / "production.py"
    settings.write_text(
        settings.read_text()
        + f"""
DATABASES = {{
    "default": {{"ENGINE": "django.db.backends.postgresql", "NAME": "test", "USER": "postgres",
                "HOST": "127.0.0.1", "PORT": "5432"}},
}}
CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": {REDIS_URL!r}}}}}
"""
    )
    healthy = check_django("mysite.production", ["django-services"], project_dir=str(project))["django-services"]
    settings.write_text(
        settings.read_text()
        + """
DATABASES["reports"] = {"ENGINE": "django.db.backends.postgresql", "NAME": "test", "USER": "app",
                        "PASSWORD": "s3cr3t-db-pass", "HOST": "127.0.0.1", "PORT": "1"}
CACHES["sessions"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
"""
    )
    broken = check_django("mysite.production", ["django-services"], project_dir=str(project))["django-services"]

    assert healthy.verdict is Verdict.PASS, healthy.message()
    assert {"database.default.latency", "cache.default.latency"} <= set(healthy.figures)
    assert POSTGRES_URL  # the same server the other database tests use
    assert [f.id for f in broken.findings] == ["database.reports", "cache.sessions"]
    assert "Connection refused" in broken.message()
    assert "s3cr3t-db-pass" not in broken.message()


def test_logging_gate_asks_for_error_reporting_when_environment_requires_it(project: Path) -> None:
    options = {"require_error_reporting": True, "error_reporting": ["SENTRY_DSN"]}
    missing = check_django("mysite.production", ["django-logging"], project_dir=str(project), options=options)
    env = {**os.environ, "SENTRY_DSN": "https://abc123@o1.ingest.sentry.test/42"}
    present = check_django("mysite.production", ["django-logging"], project_dir=str(project), options=options, env=env)
    fresh = check_django("mysite.settings", ["django-logging"], project_dir=str(project))["django-logging"]

    assert [f.line() for f in missing["django-logging"].findings] == [
        "[logging.error_reporting] no error reporting configured: none of SENTRY_DSN is set as a setting or "
        "environment variable"
    ]
    assert present["django-logging"].verdict is Verdict.PASS
    assert [f.id for f in fresh.findings] == ["logging.handlers"]


def test_every_django_check_errors_with_reason_when_settings_module_does_not_import(project: Path) -> None:
    results = check_django("mysite.nowhere", ["django-deploy", "django-static"], project_dir=str(project))

    for result in results.values():
        assert result.verdict is Verdict.ERROR
        assert "Django could not start with mysite.nowhere: ModuleNotFoundError" in result.message()


def test_django_admin_is_installed_with_the_django_extra() -> None:
    assert DJANGO_ADMIN.exists() or shutil.which("django-admin")


def test_services_gate_fails_within_timeout_when_a_database_never_answers(project: Path) -> None:
    import socket

    pytest.importorskip("psycopg")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings = project / "mysite" / "production.py"
        settings.write_text(
            settings.read_text()
            + f"""
DATABASES["reports"] = {{"ENGINE": "django.db.backends.postgresql", "NAME": "test", "USER": "app",
                        "HOST": "127.0.0.1", "PORT": "{port}"}}
"""
        )
        results = check_django(
            "mysite.production", ["django-services"], project_dir=str(project), options={"timeout": "1s"}
        )

    result = results["django-services"]
    assert [f.id for f in result.findings] == ["database.reports"]
    assert "timeout expired" in result.message()
