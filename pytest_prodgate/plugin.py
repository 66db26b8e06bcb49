"""The pytest plugin: markers, configuration, the ``gate`` and ``prodgate`` fixtures, verdicts, summary.

Thin glue over the plain-Python core (``thresholds``, ``config``, ``gate``, ``summary``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_prodgate.config import ProdgateConfig, load_config
from pytest_prodgate.context import DemoInfo, Prodgate
from pytest_prodgate.demo_target import shared_demo, stop_shared_demo
from pytest_prodgate.errors import ConfigError, GateFailed
from pytest_prodgate.gate import Gate, Severity, format_results, overall_verdict
from pytest_prodgate.markers import GateSpec, gate_spec, register_markers, spec_key
from pytest_prodgate.redact import mask_url
from pytest_prodgate.summary import count_verdicts, render_table
from pytest_prodgate.thresholds import ThresholdResult, Verdict

# Family fixtures: each capability's fixtures module, loaded with the plugin.
pytest_plugins: list[str] = [
    "pytest_prodgate.readiness.fixtures",
    "pytest_prodgate.readiness.collect",
    "pytest_prodgate.health.fixtures",
    "pytest_prodgate.data.fixtures",
    "pytest_prodgate.data.collect",
    "pytest_prodgate.load.fixtures",
    "pytest_prodgate.memory_fixtures",
    "pytest_prodgate.benchmark_glue",
    "pytest_prodgate.report.plugin",
]

config_key = pytest.StashKey[ProdgateConfig]()
log_key = pytest.StashKey["GateLog"]()
run_dir_owner_key = pytest.StashKey[Path]()
gate_key = pytest.StashKey[Gate]()
results_key = pytest.StashKey[list[ThresholdResult]]()
spec_error_key = pytest.StashKey[ConfigError]()


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


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prodgate", "production gates (pytest-prodgate)")
    add_options(group.addoption, parser.addini)


def _pyproject(config: pytest.Config) -> Path:
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        return config.inipath
    return config.rootpath / "pyproject.toml"


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)
    environment = config.getoption("prodgate_env") or config.getini("prodgate_env") or None
    try:
        settings = load_config(_pyproject(config), environment)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[config_key] = settings
    log = GateLog(config)
    config.stash[log_key] = log
    config.pluginmanager.register(log, "prodgate-gatelog")
    if not config.getoption("base_url", None) and settings.get("base_url"):
        config.option.base_url = settings.get("base_url")
    _prepare_demo(config)


def _wants_demo(config: pytest.Config) -> bool:
    if config.getoption("base_url", None) or config.option.collectonly:
        return False
    return bool(config.getoption("prodgate_demo")) or bool(config.stash[config_key].get("demo", False))


def _prepare_demo(config: pytest.Config) -> None:
    """Make a run directory for the demo (a worker takes its controller's, see ``pytest_configure_node``)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.option.prodgate_run_dir = workerinput.get("prodgate_run_dir")
        return
    if not _wants_demo(config):
        return
    config.option.prodgate_run_dir = tempfile.mkdtemp(prefix="prodgate-run-")
    config.stash[run_dir_owner_key] = Path(config.option.prodgate_run_dir)


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
    if spec_key in item.stash:
        return True
    if "prodgate" in getattr(item, "fixturenames", ()):
        return True
    info = getattr(item, "_fixtureinfo", None)
    return "base_url" in getattr(info, "argnames", ())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    error = item.stash.get(spec_error_key, None)
    if error is not None:
        raise error
    config = item.config
    run_dir = getattr(config.option, "prodgate_run_dir", None)
    if not run_dir or config.option.base_url or not _needs_target(item):
        return
    # The first gate that needs a target starts the embedded demo (once per run, across workers).
    info = shared_demo(Path(run_dir))
    config.option.base_url = info.base_url
    config.option.prodgate_demo_info = info.to_dict()


def pytest_unconfigure(config: pytest.Config) -> None:
    run_dir = config.stash.get(run_dir_owner_key, None)
    if run_dir is not None:
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
    return mask_url(str(base_url)) if base_url else None


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(config_key, None)
    if settings is None:
        return []
    parts = [f"environment {settings.environment or '(base)'}"]
    if getattr(config.option, "prodgate_run_dir", None):
        parts.append("target: the embedded demo service (started by the first gate that needs it)")
    elif config.getoption("base_url", None):
        parts.append(f"target: {config.getoption('base_url')}")
    return ["prodgate: " + ", ".join(parts)]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[config_key]
    on_worker = hasattr(config, "workerinput")
    for item in items:
        try:
            spec = gate_spec(item, settings)
        except ConfigError as exc:
            if not on_worker:
                raise pytest.UsageError(str(exc)) from None
            # A usage error would crash an xdist worker: error this item with the same line instead.
            item.stash[spec_error_key] = exc
            continue
        if spec is not None:
            item.stash[spec_key] = spec


def _gate_for(item: pytest.Item) -> Gate:
    gate = item.stash.get(gate_key, None)
    if gate is None:
        spec = item.stash.get(spec_key, None)
        gate = Gate(
            name=item.name,
            family=spec.family if spec else None,
            severity=spec.severity if spec else Severity.BLOCKING,
            thresholds=spec.thresholds if spec else (),
        )
        item.stash[gate_key] = gate
    return gate


@pytest.fixture
def gate(request: pytest.FixtureRequest) -> Gate:
    """The current gate: ``gate.record("p95", 0.041)``; the marker's thresholds judge it when the test ends."""
    return _gate_for(request.node)


@pytest.fixture(scope="session")
def prodgate(request: pytest.FixtureRequest, base_url: str | None) -> Prodgate:
    """The run's merged ``[tool.prodgate]`` settings, environment, base URL and demo service."""
    config = request.config
    info = getattr(config.option, "prodgate_demo_info", None)
    demo = DemoInfo(**info) if info else None
    return Prodgate(config=config.stash[config_key], base_url=base_url, demo=demo)


def _judge(item: pytest.Item, spec: GateSpec) -> list[ThresholdResult]:
    gate = _gate_for(item)
    if not spec.thresholds or not (spec.explicit_thresholds or gate.figures):
        return []
    results = gate.judge()
    item.stash[results_key] = results
    return results


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    outcome = yield
    spec = item.stash.get(spec_key, None)
    if spec is not None:
        results = _judge(item, spec)
        if any(not r.passed for r in results):
            raise GateFailed(format_results(results), results)
    return outcome


def _location(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    path = Path(str(item.path))
    for entry in reversed(excinfo.traceback):
        if Path(str(entry.path)) == path:
            return f"{path.name}:{entry.lineno + 1}"
    return ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and call.excinfo is not None and isinstance(call.excinfo.value, ConfigError):
        report.longrepr = str(call.excinfo.value)  # a usage mistake: the one line says it all
    spec = item.stash.get(spec_key, None)
    if spec is None or report.skipped:
        return report
    if report.when == "setup" and report.passed:
        return report
    if report.when == "teardown" and (report.passed or hasattr(item, "_prodgate_reported")):
        return report
    item._prodgate_reported = True  # type: ignore[attr-defined]
    gate = _gate_for(item)
    results = item.stash.get(results_key, None) or _judge_quietly(item, spec)
    message = ""
    verdict = Verdict.PASS
    if report.failed:
        excinfo = call.excinfo
        exc = excinfo.value if excinfo else None
        if report.when != "call":
            verdict = Verdict.ERROR
            message = excinfo.exconly() if excinfo else str(report.longrepr)
        elif isinstance(exc, ConfigError):
            verdict = Verdict.ERROR
            where = _location(item, excinfo) if excinfo else ""
            message = str(exc.located(where) if where and not exc.where else exc)
            report.longrepr = message
        elif isinstance(exc, GateFailed):
            verdict = overall_verdict(exc.results) if exc.results else Verdict.FAIL
            results = list(exc.results) or results
            message = str(exc)
            where = _location(item, excinfo) if excinfo else ""
            report.longrepr = f"{message}\n\n{where}" if where else message
        else:
            verdict = Verdict.FAIL
            message = excinfo.exconly() if excinfo else str(report.longrepr)
        if verdict is Verdict.FAIL and spec.severity is Severity.WARNING:
            verdict = Verdict.WARNING
            report.outcome = "passed"
    missed = [r for r in results if r.verdict is Verdict.FAIL]
    if verdict is Verdict.PASS or (missed and isinstance(call.excinfo and call.excinfo.value, GateFailed)):
        decided = gate.deciding_figure(results)
    else:  # failed for another reason than a threshold: say that reason, not a passing figure
        decided = _first_line(message)
    entry = {
        "nodeid": item.nodeid,
        "name": item.name,
        "family": spec.family,
        "severity": spec.severity.value,
        "verdict": verdict.value,
        "decided_by": decided,
        "figures": dict(gate.figures),
        "thresholds": [r.to_dict() for r in results],
        "message": message,
        "duration": report.duration,
        "details": gate.details,
    }
    item.config.hook.pytest_prodgate_gate_judged(item=item, entry=entry)
    report.prodgate = entry  # type: ignore[attr-defined]
    report.user_properties.append(("prodgate.verdict", verdict.value))
    report.user_properties.extend((f"prodgate.figure.{k}", v) for k, v in gate.figures.items())
    return report


def _judge_quietly(item: pytest.Item, spec: GateSpec) -> list[ThresholdResult]:
    try:
        return _judge(item, spec)
    except ConfigError:
        return []


def _first_line(text: str, limit: int = 90) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, Any] | None:
    entry = getattr(report, "prodgate", None)
    if not entry or report.when != "call":
        return None
    if entry["verdict"] == Verdict.WARNING.value:
        return "warned", "W", ("WARNING", {"yellow": True})
    if entry["verdict"] == Verdict.ERROR.value and report.failed:
        return "error", "E", ("ERROR", {"red": True})
    return None


class GateLog:
    """Collects the gate entries of a run (on the xdist controller, from its workers' reports)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.entries: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = getattr(report, "prodgate", None)
        if entry is not None:
            self.entries.append(entry)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = render_table(self.entries)
        if not lines:
            return
        counts = ", ".join(f"{n} {verdict}" for verdict, n in count_verdicts(self.entries).items())
        terminalreporter.write_sep("=", f"prodgate gates: {counts}")
        for line in lines:
            terminalreporter.write_line(line)
        target = target_description(self.config)
        if target:
            terminalreporter.write_line(f"target: {target}")
        for lines in self.config.hook.pytest_prodgate_summary_lines(config=self.config, entries=self.entries):
            for line in lines:
                terminalreporter.write_line(line)
        for entry in self.entries:
            if entry["verdict"] == Verdict.WARNING.value:
                terminalreporter.write_line(f"warning (non-blocking) {entry['nodeid']}:")
                for line in entry["message"].splitlines():
                    terminalreporter.write_line(f"    {line}")


def gate_entries(config: pytest.Config) -> list[dict[str, Any]]:
    """Every gate entry recorded so far in this run (for reports)."""
    log = config.stash.get(log_key, None)
    return log.entries if log else []
