"""Pytest glue for the reports: options, redaction of every report, JSON and Markdown files, xdist grouping.

Registered by the plugin from ``families.CAPABILITIES`` (with ``node_ids``). Workers (pytest-xdist)
only mask and annotate their reports; the controller writes the files (``not hasattr(config,
"workerinput")``). The pytest-html columns and details live in ``plugin/html.py``, registered only
when ``--html`` is on.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_prodgate.config import ProdgateConfig
from pytest_prodgate.families import FAMILIES
from pytest_prodgate.plugin.stash import CONFIG, gate_entries
from pytest_prodgate.plugin.target import target_description
from pytest_prodgate.redact import Redactor
from pytest_prodgate.report.config import DEFAULTS
from pytest_prodgate.report.masking import mask_in_place, mask_metadata, mask_pairs, secret_setting_values

PERFORMANCE_GROUP = "prodgate-performance"
_GROUP_SUFFIX = f"@{PERFORMANCE_GROUP}"

# Masked node ids: what pytest shows and writes for an item whose id holds a secret.

state_key = pytest.StashKey["ReportState"]()
nodeid_key = pytest.StashKey[str]()


class ReportState:
    """What the report glue keeps for one run (a plain class: every pytest run imports this module)."""

    def __init__(self) -> None:
        self.started: float = time.time()
        self.redactor: Redactor | None = None
        self.written: list[tuple[str, Path]] = []
        self.lock: Path | None = None
        self.redactor_has_settings = False
        self.commit: str | None = None
        self.commit_known = False


def add_report_options(addoption: Any, addini: Any | None = None) -> None:
    """Report options, shared with any CLI that wants them."""
    addoption(
        "--prodgate-json",
        dest="prodgate_json",
        metavar="PATH",
        default=None,
        help="Write the JSON gate report (what prodgate deploy reads) to PATH",
    )
    addoption(
        "--prodgate-markdown",
        dest="prodgate_markdown",
        metavar="PATH",
        default=None,
        help="Write a Markdown gate summary for a pull-request comment to PATH",
    )
    if addini is not None:
        addini("prodgate_json", "Default path of the JSON gate report", default=None)
        addini("prodgate_markdown", "Default path of the Markdown gate summary", default=None)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prodgate", "production gates (pytest-prodgate)")
    add_report_options(group.addoption, parser.addini)


def _settings(config: pytest.Config) -> ProdgateConfig | None:
    return config.stash.get(CONFIG, None)


def report_setting(config: pytest.Config, key: str) -> Any:
    """``[tool.prodgate.report] key``, or its default."""
    settings = _settings(config)
    section = settings.section("report") if settings is not None else {}
    return section.get(key, DEFAULTS[key])


def _state(config: pytest.Config) -> ReportState:
    state = config.stash.get(state_key, None)
    if state is None:
        state = config.stash[state_key] = ReportState()
    return state


def redactor_for(config: pytest.Config) -> Redactor:
    """The run's redactor: secret-named variables, URL passwords, the configuration's ``secrets`` names."""
    state = _state(config)
    settings = _settings(config)
    if state.redactor is None or (settings is not None and not state.redactor_has_settings):
        names = list(settings.get("secrets", []) or []) if settings is not None else []
        redactor = Redactor(names=names)
        if settings is not None:
            redactor.add(*secret_setting_values(settings.settings))
            state.redactor_has_settings = True
        state.redactor = redactor
    return state.redactor


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    _state(config)
    config.pluginmanager.register(WarningMasker(config), "prodgate-warning-masker")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        # Workers parse the original arguments again: the controller's choice comes in workerinput.
        if workerinput.get("prodgate_loadgroup"):
            config.option.loadgroup = True
        return
    config.pluginmanager.register(GroupSuffixRemover(), "prodgate-group-suffix")
    if config.getoption("htmlpath", None):
        from pytest_prodgate.plugin.html import HtmlGateReport  # the HTML parts load only for --html

        html = HtmlGateReport(
            report_of=lambda status: gate_report(config, status),
            redactor_of=lambda: redactor_for(config),
            charts=lambda: bool(report_setting(config, "charts")),
            target_of=lambda: target_description(config),
            metadata_of=lambda: _metadata(config),
        )
        config.pluginmanager.register(html, "prodgate-html")


def _metadata(config: pytest.Config) -> dict[str, Any] | None:
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:  # pragma: no cover - pytest-metadata comes with pytest-html
        return None
    return config.stash.get(metadata_key, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name in ("prodgate-warning-masker", "prodgate-group-suffix", "prodgate-html"):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, controller side: tell each worker whether performance gates go in one group."""
    config = node.config
    node.workerinput["prodgate_loadgroup"] = config.getoption("dist", "no") == "loadgroup"
    node.workerinput["prodgate_serial"] = bool(report_setting(config, "serial_performance"))
    from pytest_prodgate.report.serial import lock_path  # only xdist runs serialise performance gates

    _state(config).lock = lock_path(node.workerinput["testrunuid"])


def _is_performance(item: pytest.Item) -> bool:
    for marker in item.iter_markers():
        if marker.name in FAMILIES:
            return marker.name == "performance"
    return False


def _serial(config: pytest.Config) -> bool:
    return bool(getattr(config, "workerinput", {}).get("prodgate_serial"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker with --dist loadgroup, put every performance gate in one group (one worker)."""
    if not getattr(config.option, "loadgroup", False) or not _serial(config):
        return
    for item in items:
        if _is_performance(item):
            item.stash[nodeid_key] = item.nodeid  # xdist appends "@group" to the node id; reports get it back
            item.add_marker(pytest.mark.xdist_group(PERFORMANCE_GROUP))


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_prodgate_group_node_ids(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Where pytest-xdist could not append its "@group" suffix (pytest 9 keeps node ids in ``_id``), do it."""
    if not getattr(config.option, "loadgroup", False) or not _serial(config):
        return
    for item in items:
        original = item.stash.get(nodeid_key, None)
        if original is None or item.nodeid != original:
            continue
        try:
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(f"{original}@{PERFORMANCE_GROUP}")
        except (ImportError, AttributeError, TypeError, ValueError):
            return  # the run lock below still keeps performance gates apart


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """On xdist workers, a performance gate (setup, call, teardown) holds the run's performance lock."""
    workerinput = getattr(item.config, "workerinput", None)
    if workerinput is None or not workerinput.get("prodgate_serial") or not _is_performance(item):
        return (yield)
    from pytest_prodgate.report.serial import RunLock, lock_path

    with RunLock(lock_path(workerinput["testrunuid"])):
        return (yield)


def _mask_report(report: pytest.TestReport | pytest.CollectReport, redactor: Redactor) -> None:
    if report.longrepr is not None:
        if isinstance(report.longrepr, str):
            report.longrepr = redactor.text(report.longrepr)
        elif redactor.text(str(report.longrepr)) != str(report.longrepr):  # only when a secret is in it
            report.longrepr = mask_in_place(report.longrepr, redactor)
    report.sections = mask_pairs(report.sections, redactor)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    config = item.config
    redactor = redactor_for(config)
    _mask_report(report, redactor)
    report.user_properties = mask_pairs(report.user_properties, redactor)
    entry = getattr(report, "prodgate", None)
    if entry is not None:
        entry = redactor.data(entry)
        entry["nodeid"] = without_group_suffix(entry["nodeid"])  # the (masked) id, as every report shows it
        report.prodgate = entry  # type: ignore[attr-defined]
        # JUnit XML reads the teardown report's properties, copied from the item: put the gate's there too.
        known = {name for name, _ in item.user_properties}
        item.user_properties.extend(
            p for p in report.user_properties if p[0].startswith("prodgate.") and p[0] not in known
        )
    return report


def without_group_suffix(node_id: str) -> str:
    """``node_id`` without the "@group" suffix pytest-xdist's grouping gave a performance gate."""
    return node_id.removesuffix(_GROUP_SUFFIX)


class GroupSuffixRemover:
    """Controller only: drop the "@group" suffix grouping gave a performance gate's node id.

    Workers need it (xdist checks it against the item); every report and the terminal should not show it.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid.endswith(_GROUP_SUFFIX):
            report.nodeid = without_group_suffix(report.nodeid)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _mask_report(report, redactor_for(collector.config))
    return report


class WarningMasker:
    """Masks a secret in a warning's text before the warnings summary (or an xdist worker) takes it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_warning_recorded(self, warning_message: Any) -> None:
        message = getattr(warning_message, "message", None)
        if isinstance(message, Warning) and message.args:
            redactor = redactor_for(self.config)
            message.args = tuple(redactor.text(a) if isinstance(a, str) else a for a in message.args)


@pytest.hookimpl(wrapper=True)
def pytest_report_header(config: pytest.Config) -> Generator[None, list[Any], list[Any]]:
    """Other plugins' header lines (pytest-base-url's URL, pytest-metadata's table) with secrets masked."""
    lines = yield
    redactor = redactor_for(config)
    return [mask_in_place(line, redactor) if isinstance(line, (str, list)) else line for line in lines]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Mask pytest-metadata's environment table before pytest-html and the header read it."""
    config = session.config
    _state(config).started = time.time()
    # pytest-xdist: "-n N" means --dist load; loadgroup is load plus groups, so performance gates share one
    # worker. Here, not in pytest_configure: [tool.prodgate] is loaded by now, and xdist starts its workers later.
    if not hasattr(config, "workerinput") and config.getoption("dist", "no") == "load":
        if report_setting(config, "serial_performance"):
            config.option.dist = "loadgroup"
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:  # pragma: no cover - pytest-metadata comes with pytest-html
        return
    metadata = config.stash.get(metadata_key, None)
    if metadata is not None:
        mask_metadata(metadata, redactor_for(config))


def _path_option(config: pytest.Config, name: str) -> str | None:
    value = (
        config.getoption(f"prodgate_{name}", None) or config.getini(f"prodgate_{name}") or report_setting(config, name)
    )
    return str(value) if value else None


def _commit(config: pytest.Config) -> str | None:
    state = _state(config)
    if not state.commit_known:
        from pytest_prodgate.vcs import git_commit

        state.commit, state.commit_known = git_commit(config.rootpath), True
    return state.commit


def gate_report(config: pytest.Config, exit_status: int) -> dict[str, Any]:
    """The JSON gate report for this run so far (controller side), secrets masked."""
    settings = _settings(config)
    from pytest_prodgate.report.jsonreport import build_report, run_metadata

    run = run_metadata(
        started=_state(config).started,
        finished=time.time(),
        exit_status=exit_status,
        environment=settings.environment if settings is not None else None,
        base_url=config.getoption("base_url", None),
        argv=list(config.invocation_params.args),
        pytest_version=pytest.__version__,
        commit=_commit(config),
    )
    return build_report(gate_entries(config), run, redactor_for(config))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    state = _state(config)
    if state.lock is not None:
        state.lock.unlink(missing_ok=True)
    json_path = _path_option(config, "json")
    markdown_path = _path_option(config, "markdown")
    to_step_summary = report_setting(config, "step_summary")
    if not (json_path or markdown_path or (to_step_summary and gate_entries(config))):
        return  # nothing to write (a gate-less run does not even ask git for its commit)
    # The writers load only when there is something to write.
    from pytest_prodgate.report.jsonreport import write_atomically, write_report
    from pytest_prodgate.report.markdown import append_step_summary, render_markdown

    report = gate_report(config, int(exitstatus))
    if json_path:
        state.written.append(("JSON gate report", write_report(Path(config.invocation_params.dir, json_path), report)))
    text = render_markdown(report, max_rows=int(report_setting(config, "max_rows")))
    if markdown_path:
        path = write_atomically(Path(config.invocation_params.dir, markdown_path), text)
        state.written.append(("Markdown gate summary", path))
    if to_step_summary and report["gates"]:
        step = append_step_summary(text)
        if step is not None:
            state.written.append(("GitHub step summary", step))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for what, path in _state(config).written:
        terminalreporter.write_line(f"prodgate: {what} written to {path}")
