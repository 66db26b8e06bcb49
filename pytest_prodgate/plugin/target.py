"""Glue for the target of a run: the embedded demo service, ``--base-url``, the ``prodgate`` fixture."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.plugin.stash import is_gate, settings

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.context import Prodgate

RUN_DIR_OWNER = pytest.StashKey[Path]()


def wants_demo(config: pytest.Config) -> bool:
    if config.getoption("base_url", None) or config.option.collectonly:
        return False
    return bool(config.getoption("prodgate_demo")) or bool(settings(config).get("demo", False))


def prepare_demo(config: pytest.Config) -> None:
    """Make a run directory for the demo (a worker takes its controller's, see ``pytest_configure_node``)."""
    if not config.getoption("base_url", None) and settings(config).get("base_url"):
        config.option.base_url = settings(config).get("base_url")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.option.prodgate_run_dir = workerinput.get("prodgate_run_dir")
        return
    if not wants_demo(config):
        return
    config.option.prodgate_run_dir = tempfile.mkdtemp(prefix="prodgate-run-")
    config.stash[RUN_DIR_OWNER] = Path(config.option.prodgate_run_dir)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: workers re-read their options, so hand them the run directory explicitly."""
    run_dir = getattr(node.config.option, "prodgate_run_dir", None)
    if run_dir:
        node.workerinput["prodgate_run_dir"] = run_dir


def _needs_target(item: pytest.Item) -> bool:
    """A gate, a test using ``prodgate`` (family fixtures do), or one asking for ``base_url`` itself.

    (pytest-base-url's autouse ``_verify_url`` puts ``base_url`` in every test's closure, so the
    closure alone cannot tell.)
    """
    if is_gate(item):
        return True
    if "prodgate" in getattr(item, "fixturenames", ()):
        return True
    info = getattr(item, "_fixtureinfo", None)
    return "base_url" in getattr(info, "argnames", ())


def pytest_runtest_setup(item: pytest.Item) -> None:
    config = item.config
    run_dir = getattr(config.option, "prodgate_run_dir", None)
    if not run_dir or config.option.base_url or not _needs_target(item):
        return
    # The first gate that needs a target starts the embedded demo (once per run, across workers).
    from pytest_prodgate.demo_target import shared_demo  # the demo's code loads when a run needs it

    info = shared_demo(Path(run_dir))
    config.option.base_url = info.base_url
    config.option.prodgate_demo_info = info.to_dict()


def pytest_unconfigure(config: pytest.Config) -> None:
    run_dir = config.stash.get(RUN_DIR_OWNER, None)
    if run_dir is not None:
        from pytest_prodgate.demo_target import stop_shared_demo

        stop_shared_demo(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)


def target_description(config: pytest.Config) -> str | None:
    """``http://... (embedded demo service, pid N)`` or the configured base URL, for summaries and reports."""
    info = getattr(config.option, "prodgate_demo_info", None)
    run_dir = getattr(config.option, "prodgate_run_dir", None)
    if not info and run_dir and (Path(run_dir) / "demo.json").exists():
        info = json.loads((Path(run_dir) / "demo.json").read_text())
    if info and info.get("base_url"):
        return f"{info['base_url']} (embedded demo service, pid {info['pid']})"
    base_url = config.getoption("base_url", None)
    if not base_url:
        return None
    from pytest_prodgate.redact import mask_url  # with the gate table, not with every run

    return mask_url(str(base_url))


def pytest_report_header(config: pytest.Config) -> list[str]:
    try:
        current = settings(config)
    except KeyError:
        return []
    parts = [f"environment {current.environment or '(base)'}"]
    if getattr(config.option, "prodgate_run_dir", None):
        parts.append("target: the embedded demo service (started by the first gate that needs it)")
    elif config.getoption("base_url", None):
        parts.append(f"target: {config.getoption('base_url')}")
    return ["prodgate: " + ", ".join(parts)]


@pytest.fixture(scope="session")
def prodgate(request: pytest.FixtureRequest, base_url: str | None) -> Prodgate:
    """The run's merged ``[tool.prodgate]`` settings, environment, base URL and demo service."""
    from pytest_prodgate.context import DemoInfo, Prodgate

    config = request.config
    info = getattr(config.option, "prodgate_demo_info", None)
    demo = DemoInfo(**info) if info else None
    return Prodgate(config=settings(config), base_url=base_url, demo=demo)
