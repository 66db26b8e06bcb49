"""Django checks run in the target's own interpreter, which does not have pytest-prodgate.

The target is a separate virtualenv with Django only (``tests/django_env.py``); the project is a real
``django-admin startproject`` with an app and a model (``test_readiness_django.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_prodgate.readiness.django_checks import DJANGO_CHECKS, check_django
from pytest_prodgate.thresholds import Verdict
from tests.core.test_readiness_django import MODELS, add_app, manage, project
from tests.django_env import bare_python, django_python

pytest.importorskip("django")

__all__ = ["bare_python", "django_python", "project"]  # fixtures used by name below

CHANGED = MODELS + "    price = models.IntegerField(default=0)\n"


def test_migrations_gate_names_app_and_change_when_model_changed_without_migration(
    project: Path, django_python: Path
) -> None:
    add_app(project)
    manage(project, "migrate")
    (project / "shop" / "models.py").write_text(CHANGED)

    missing = check_django(
        "mysite.settings", ["django-migrations"], project_dir=str(project), python=str(django_python)
    )["django-migrations"]
    manage(project, "makemigrations", "shop", "--name", "add_price")
    manage(project, "migrate")
    migrated = check_django(
        "mysite.settings", ["django-migrations"], project_dir=str(project), python=str(django_python)
    )["django-migrations"]

    assert missing.verdict is Verdict.FAIL
    assert [f.line() for f in missing.findings] == [
        "[migrations.missing] shop: Add field price to product has no migration (run manage.py makemigrations shop)"
    ]
    assert missing.figures["missing"] == 1 and missing.figures["pending"] == 0
    assert migrated.verdict is Verdict.PASS, migrated.message()
    assert migrated.figures["missing"] == 0


def test_migrations_gate_names_every_change_and_app_when_several_models_changed(
    project: Path, django_python: Path
) -> None:
    add_app(project)
    manage(project, "migrate")
    (project / "shop" / "models.py").write_text(
        CHANGED.replace("max_length=100", "max_length=200")
        + "\n\nclass Order(models.Model):\n    total = models.IntegerField()\n"
    )

    result = check_django("mysite.settings", ["django-migrations"], project_dir=str(project), python=str(django_python))

    lines = [f.line() for f in result["django-migrations"].findings]
    assert lines == [
        "[migrations.missing] shop: Create model Order has no migration (run manage.py makemigrations shop)",
        "[migrations.missing] shop: Add field price to product has no migration (run manage.py makemigrations shop)",
        "[migrations.missing] shop: Alter field name on product has no migration (run manage.py makemigrations shop)",
    ]
    assert result["django-migrations"].figures["missing"] == 3


def test_missing_migration_can_be_waived_with_its_reason_when_config_waives_it(
    project: Path, django_python: Path
) -> None:
    add_app(project)
    manage(project, "migrate")
    (project / "shop" / "models.py").write_text(CHANGED)

    result = check_django(
        "mysite.settings",
        ["django-migrations"],
        project_dir=str(project),
        python=str(django_python),
        waivers={"migrations.missing": "the migration ships in the next release"},
    )["django-migrations"]

    assert result.verdict is Verdict.PASS
    assert [(f.id, reason) for f, reason in result.waived] == [
        ("migrations.missing", "the migration ships in the next release")
    ]


def test_every_django_check_runs_when_target_interpreter_lacks_pytest_prodgate(
    project: Path, django_python: Path
) -> None:
    add_app(project)
    manage(project, "migrate", settings="mysite.production")
    manage(project, "collectstatic", "--noinput", settings="mysite.production")

    results = check_django(
        "mysite.production", list(DJANGO_CHECKS), project_dir=str(project), python=str(django_python)
    )

    verdicts = {name: result.verdict for name, result in results.items()}
    assert verdicts == dict.fromkeys(DJANGO_CHECKS, Verdict.PASS), {n: r.message() for n, r in results.items()}
    assert results["django-migrations"].figures == {"pending": 0, "missing": 0, "problems": 0}


def test_each_check_is_an_error_naming_interpreter_and_fix_when_target_has_no_django(
    project: Path, bare_python: Path
) -> None:
    results = check_django(
        "mysite.settings", ["django-deploy", "django-migrations"], project_dir=str(project), python=str(bare_python)
    )

    for result in results.values():
        assert result.verdict is Verdict.ERROR
        message = result.message()
        assert message.count("\n") == 0, message  # one paragraph, said once
        assert message.startswith(f"could not run: Ran the Django probe with {bare_python} in {project}")
        assert "Django is not installed there (ModuleNotFoundError: No module named 'django')" in message
        assert "set [tool.prodgate.readiness.django] python to the app's own virtualenv" in message


def test_check_is_an_error_naming_the_settings_dependency_when_target_lacks_it(
    project: Path, django_python: Path
) -> None:
    settings = project / "mysite" / "settings.py"
    settings.write_text("import environ  # django-environ, not installed in the target\n" + settings.read_text())

    result = check_django("mysite.settings", ["django-deploy"], project_dir=str(project), python=str(django_python))[
        "django-deploy"
    ]

    assert result.verdict is Verdict.ERROR
    assert "Django could not start with mysite.settings: ModuleNotFoundError: No module named 'environ'" in (
        result.message()
    )
    assert "install the project's own requirements into that environment" in result.message()


def test_check_is_an_error_naming_the_interpreter_when_it_does_not_exist(project: Path, tmp_path: Path) -> None:
    nowhere = tmp_path / "venv" / "bin" / "python"

    result = check_django("mysite.settings", ["django-deploy"], project_dir=str(project), python=str(nowhere))

    assert result["django-deploy"].message() == (
        f"could not run: Tried to start the Django probe with {nowhere}: No such file or directory. Likely fix: "
        "set [tool.prodgate.readiness.django] python to the interpreter of the app's environment "
        "(e.g. /srv/app/.venv/bin/python)."
    )


def test_cli_says_a_shared_reason_once_and_takes_python_relative_to_the_config_when_target_lacks_django(
    project: Path, bare_python: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_prodgate.cli import main

    venv = project / ".venv"
    venv.symlink_to(bare_python.parent.parent)
    (project / "pyproject.toml").write_text(
        '[tool.prodgate.readiness]\nchecks = ["django"]\n'
        '[tool.prodgate.readiness.django]\nsettings = "mysite.settings"\npython = ".venv/bin/python"\n'
    )

    code = main(["readiness", "--config", str(project / "pyproject.toml")])

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0] == "readiness::django-settings ERROR"
    assert out[1].startswith(f"  - [django-settings.error] Ran the Django probe with {project}/.venv/bin/python in ")
    assert "Django is not installed there" in out[1]
    assert out[2:4] == [
        "readiness::django-deploy ERROR",
        "  - [django-deploy.error] could not run: the same reason as readiness::django-settings",
    ]
    assert sum("Django is not installed there" in line for line in out) == 1
    assert len(out) == 12  # six checks, one line each under them
