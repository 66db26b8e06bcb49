"""The pytest plugin (entry point ``prodgate``): thin glue over the plain-Python core.

Layout: ``stash`` holds the public seams (settings, gate of an item, entries of a run);
``markers`` reads family markers into ``GateSpec``s; ``target`` starts the demo and offers the
``prodgate`` fixture; ``verdicts`` maps pytest's reports onto ``pytest_prodgate.verdict``;
each family's fixtures and collectors are listed in ``pytest_prodgate.families.CAPABILITIES``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from pytest_prodgate.config import load_config
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.families import CAPABILITIES, FAMILIES, MARKER_HELP
from pytest_prodgate.plugin.stash import CONFIG, SPEC, SPEC_ERROR, settings
from pytest_prodgate.plugin.target import prepare_demo
from pytest_prodgate.plugin.verdicts import GateLog

# What a run without gates imports is this module, stash, target, verdicts, config, families,
# errors and each glue module; markers, the threshold language, the gate record and the verdict
# core load when collection meets the first family marker (benchmarks/import_cost.py measures it).

# The glue modules, registered in ``pytest_addhooks``: the run's target and verdicts, then each
# capability's fixtures and collectors. Not ``pytest_plugins``: for every name listed there pytest scans
# every installed distribution's entry points (about 5 ms a name), in every run.
GLUE: tuple[str, ...] = (
    "pytest_prodgate.plugin.target",
    "pytest_prodgate.plugin.verdicts",
    *(module for capability in CAPABILITIES for module in capability.glue),
)


def add_options(addoption: Any, addini: Any | None = None) -> None:
    """Options shared by the pytest plugin (and, where they make sense, the CLI)."""
    addoption(
        "--prodgate-env",
        dest="prodgate_env",
        metavar="NAME",
        default=None,
        help="Environment whose [tool.prodgate.environments.NAME] table applies (default: $PRODGATE_ENV)",
    )
    addoption(
        "--prodgate-demo",
        dest="prodgate_demo",
        action="store_true",
        default=None,
        help="Start the embedded demo service as the target when no base URL is given",
    )
    if addini is not None:
        addini("prodgate_env", "Default environment for [tool.prodgate.environments]", default=None)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_prodgate import hooks

    pluginmanager.add_hookspecs(hooks)
    for name in GLUE:
        if pluginmanager.is_blocked(name) or pluginmanager.has_plugin(name):
            continue  # -p no:NAME, or registered already
        pluginmanager.register(importlib.import_module(name), name)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prodgate", "production gates (pytest-prodgate)")
    add_options(group.addoption, parser.addini)


def _pyproject(config: pytest.Config) -> Path:
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        return config.inipath
    return config.rootpath / "pyproject.toml"


def register_markers(config: pytest.Config) -> None:
    for family in FAMILIES:
        config.addinivalue_line(
            "markers",
            f"{family}(thresholds=[...], severity='blocking'|'warning', allow_skip='reason'): {MARKER_HELP[family]}",
        )


def has_family_marker(item: pytest.Item) -> bool:
    """Whether ``item`` carries a family marker (its own, its class's or its module's)."""
    return any(marker.name in FAMILIES for marker in item.iter_markers())


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)
    environment = config.getoption("prodgate_env") or config.getini("prodgate_env") or None
    try:
        config.stash[CONFIG] = load_config(_pyproject(config), environment)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(GateLog(config), "prodgate-gatelog")
    prepare_demo(config)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    current = settings(config)
    on_worker = hasattr(config, "workerinput")
    for item in items:
        if not has_family_marker(item):
            continue
        from pytest_prodgate.plugin.markers import gate_spec  # the first gate loads it

        try:
            spec = gate_spec(item, current)
        except ConfigError as exc:
            if not on_worker:
                raise pytest.UsageError(str(exc)) from None
            # A usage error would crash an xdist worker: error this item with the same line instead.
            item.stash[SPEC_ERROR] = exc
            continue
        if spec is not None:
            item.stash[SPEC] = spec
