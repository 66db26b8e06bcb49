"""One verdict for the Django checks whichever way they are asked for, and each reason said once.

The target interpreter is a real virtualenv without Django (``tests/django_env.py``): every Django check
could not run there, so ``readiness.django("django-deploy")``, ``readiness.django()`` and the collected
``readiness::django-*`` gates must all be errors, with the one paragraph, not six copies of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.django_env import bare_python

pytest_plugins = ["pytester"]
__all__ = ["bare_python"]

GATES = """
import pytest

@pytest.mark.readiness
def test_deploy(readiness):
    readiness.django("django-deploy")

@pytest.mark.readiness
def test_every_check(readiness):
    readiness.django()
"""


def test_one_check_and_all_six_are_both_errors_with_the_reason_once_when_target_lacks_django(
    pytester: pytest.Pytester, bare_python: Path
) -> None:
    pytester.makepyprojecttoml(
        f"""
        [tool.prodgate.readiness.django]
        settings = "mysite.settings"
        python = "{bare_python}"
        """
    )
    pytester.makepyfile(test_django_gates=GATES)

    result = pytester.runpytest("-rA")

    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines_random(
        [
            "ERROR test_django_gates.py::test_deploy - could not run: Ran the Django probe with *",
            "ERROR test_django_gates.py::test_every_check - could not run: Ran the Django probe with *",
            "gates NOT passed: 2 blocking gates did not pass (2 errored)",
        ]
    )
    output = result.stdout.str()
    every = output.split("ERROR at call of test_every_check")[1].split("test_django_gates.py:9")[0]
    paragraph = "Django is not installed there (ModuleNotFoundError: No module named 'django')"
    assert every.count(paragraph) == 1, every  # said once, not once per check
    assert [line for line in every.splitlines() if line.startswith("  - ")] == [
        f"  - {check}: could not run"
        for check in (
            "django-settings",
            "django-deploy",
            "django-migrations",
            "django-static",
            "django-services",
            "django-logging",
        )
    ]
    assert result.ret == 1


def test_collected_django_gates_are_errors_with_the_reason_when_target_lacks_django(
    pytester: pytest.Pytester, bare_python: Path
) -> None:
    pytester.makepyprojecttoml(
        f"""
        [tool.prodgate.readiness]
        checks = ["django-deploy", "django-migrations"]
        [tool.prodgate.readiness.django]
        settings = "mysite.settings"
        python = "{bare_python}"
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines_random(["*readiness::django-deploy*ERROR*", "*readiness::django-migrations*ERROR*"])
    assert "Likely fix: set [tool.prodgate.readiness.django] python to the app's own virtualenv" in result.stdout.str()
