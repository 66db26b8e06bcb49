"""A run that selects no gate costs (almost) nothing: no family module, no heavy engine, no warning."""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DUMP_MODULES = """
import json
import sys

def pytest_sessionfinish(session):
    with open("modules.json", "w") as handle:
        json.dump(sorted(sys.modules), handle)
"""

FAMILIES = ["performance", "data", "deploy", "demo", "health", "readiness"]
ENGINES = ["sqlalchemy", "uvicorn", "psutil", "cryptography", "httpx", "httptools", "hdrh"]

# One gate-less run serves every parametrized case (the module list does not depend on the case).
_modules: list[str] = []


@pytest.fixture
def gate_less_modules(pytester: pytest.Pytester) -> list[str]:
    """The modules imported by a pytest run of a one-test project without gates (in a subprocess)."""
    if not _modules:
        pytester.makeconftest(DUMP_MODULES)
        pytester.makepyfile(test_one="def test_one():\n    assert True\n")
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        _modules.extend(json.loads((pytester.path / "modules.json").read_text()))
    return _modules


def test_import_cost_script_prints_its_figures_when_run_in_smoke_mode(pytester: pytest.Pytester) -> None:
    result = pytester.run(sys.executable, str(ROOT / "benchmarks" / "import_cost.py"), "--smoke", timeout=300)
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "import cost of pytest-prodgate: median of 2 runs *",
            "-p no:prodgate * ms * MB * ms",
            "with prodgate * ms * MB * ms",
            "difference * ms * MB * ms",
            "paired median * ms * MB * ms",
            "prodgate --help * ms",
            "a gate-less run imports * pytest_prodgate modules and * heavy packages: *",
        ]
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_no_family_module_is_imported_when_no_gate_runs(gate_less_modules: list[str], family: str) -> None:
    package = f"pytest_prodgate.{family}"
    assert [name for name in gate_less_modules if name == package or name.startswith(package + ".")] == []


# The gate machinery itself (the threshold language, the gate record, marker specs, the verdict core,
# the table) loads when collection meets the first family marker.
GATE_MACHINERY = [
    "pytest_prodgate.thresholds",
    "pytest_prodgate.gate",
    "pytest_prodgate.plugin.markers",
    "pytest_prodgate.verdict",
    "pytest_prodgate.summary",
    "pytest_prodgate.report.serial",
]


@pytest.mark.parametrize("module", GATE_MACHINERY)
def test_gate_machinery_is_not_imported_when_no_gate_runs(gate_less_modules: list[str], module: str) -> None:
    assert module not in gate_less_modules


@pytest.mark.parametrize("engine", ENGINES)
def test_no_engine_is_imported_when_no_gate_runs(gate_less_modules: list[str], engine: str) -> None:
    assert [name for name in gate_less_modules if name == engine or name.startswith(engine + ".")] == []


def test_pytest_asyncio_is_only_an_extra_when_installed() -> None:
    requirements = importlib.metadata.requires("pytest-prodgate") or []
    asyncio = [r for r in requirements if r.replace("_", "-").startswith("pytest-asyncio")]
    assert asyncio, requirements
    assert all("extra ==" in r for r in asyncio), asyncio


def test_user_project_sees_no_warning_when_installed_without_extras(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_ADDOPTS")  # a user project has none of our inner-run options
    pytester.makepyfile(test_one="def test_one():\n    assert True\n")
    # Our own environment has the test extra (pytest-asyncio); a plain install has not.
    result = pytester.runpytest_subprocess("-p", "no:asyncio", "-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=1)
    output = result.stdout.lines + result.stderr.lines
    assert [line for line in output if "Warning" in line] == []
