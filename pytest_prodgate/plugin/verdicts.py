"""Glue between pytest's reports and the core verdict (``pytest_prodgate.verdict``).

The call wrapper judges a gate's declared thresholds; ``pytest_runtest_makereport`` maps pytest's
report onto ``judge`` and hangs the entry on the report (``report.prodgate``, a dict so it travels
from xdist workers); ``GateLog`` collects the entries on the controller, prints the gate table and
the run's decision, and makes the exit status say when a gate run did not pass.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from _pytest._code.code import ExceptionChainRepr, ReprEntryNative, ReprFileLocation, ReprTraceback

from pytest_prodgate.errors import ConfigError, CouldNotRun, GateFailed
from pytest_prodgate.plugin.stash import DECLARED, ENTRIES, SPEC_ERROR, gate_entries, gate_for, settings, spec_for
from pytest_prodgate.plugin.target import target_description

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.gate import Gate
    from pytest_prodgate.plugin.markers import GateSpec
    from pytest_prodgate.thresholds import ThresholdResult
    from pytest_prodgate.verdict import Outcome

# The verdict core and the table are imported by the hooks that meet a gate: a run without gates
# does not load them.

REPORTED = pytest.StashKey[bool]()


@pytest.fixture
def gate(request: pytest.FixtureRequest) -> Gate:
    """The current gate: ``gate.record("p95", 0.041)``; the marker's thresholds judge it when the test ends."""
    return gate_for(request.node)


def _judge_declared(item: pytest.Item, spec: GateSpec) -> list[ThresholdResult]:
    gate = gate_for(item)
    if not spec.thresholds or not (spec.explicit_thresholds or gate.figures):
        return []
    results = gate.judge()
    item.stash[DECLARED] = results
    return results


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    error = item.stash.get(SPEC_ERROR, None)
    if error is not None:
        raise error


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    outcome = yield
    spec = spec_for(item)
    if spec is not None:
        from pytest_prodgate.thresholds import Verdict  # loaded with the gate's spec (plugin.markers)

        results = _judge_declared(item, spec)
        if any(r.verdict in (Verdict.FAIL, Verdict.ERROR) for r in results):
            from pytest_prodgate.gate import format_results  # loaded with the gate (stash.gate_for)

            raise GateFailed(format_results(results, gate_for(item).notes), results)
    return outcome


def _location(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> tuple[str, int]:
    path = Path(str(item.path))
    for entry in reversed(excinfo.traceback):
        if Path(str(entry.path)) == path:
            return str(path), entry.lineno + 1
    return str(path), 0


def _gate_repr(text: str, reason: str, path: str, lineno: int) -> ExceptionChainRepr:
    """A failure representation whose crash line is the gate's reason (pytest's ``-r`` summary shows it).

    Built from pytest's own serialisable parts, so it travels from xdist workers unchanged.
    """
    lines = [line + "\n" for line in text.splitlines()]
    traceback = ReprTraceback([ReprEntryNative(lines)], None, "native")
    return ExceptionChainRepr([(traceback, ReprFileLocation(path, lineno, reason), None)])


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason[len("Skipped: ") :] if reason.startswith("Skipped: ") else reason
    return str(longrepr or "skipped")


def _outcome_of(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[Outcome, BaseException | None, str]:
    from pytest_prodgate.verdict import Outcome

    if report.skipped:
        return Outcome.SKIPPED, None, _skip_reason(report)
    if report.failed:
        excinfo = call.excinfo
        exc = excinfo.value if excinfo else None
        return Outcome.FAILED, exc, (excinfo.exconly() if excinfo else str(report.longrepr))
    return Outcome.PASSED, None, ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and call.excinfo is not None and isinstance(call.excinfo.value, ConfigError):
        report.longrepr = str(call.excinfo.value)  # a usage mistake: the one line says it all
    spec = spec_for(item)
    if spec is None or item.stash.get(REPORTED, False):
        return report
    if report.when in ("setup", "teardown") and report.passed:
        return report
    item.stash[REPORTED] = True  # one entry per gate: the first phase that decided it
    from pytest_prodgate.verdict import GateEntry, Outcome, judge, skip_allowance

    outcome, exc, message = _outcome_of(report, call)
    if isinstance(exc, ConfigError):
        where = _location(item, call.excinfo) if call.excinfo else None
        message = str(exc.located(f"{Path(where[0]).name}:{where[1]}") if where and where[1] and not exc.where else exc)
        report.longrepr = message
    elif isinstance(exc, (GateFailed, CouldNotRun)):
        message = str(exc)
    declared = item.stash.get(DECLARED, None)
    if declared is None:
        try:
            declared = _judge_declared(item, spec) if outcome is Outcome.PASSED else []
        except ConfigError:
            declared = []
    entry = judge(
        gate_for(item),
        outcome,
        nodeid=item.nodeid,
        declared=declared,
        in_call=report.when == "call",
        error=exc,
        message=message,
        duration=report.duration,
        skip_allowed=skip_allowance(settings(item.config), spec.family, item.nodeid, spec.allow_skip),
    )
    replaced = item.config.hook.pytest_prodgate_gate_judged(item=item, entry=entry)
    if isinstance(replaced, GateEntry):
        entry = replaced
    if entry.verdict == "warning":
        report.outcome = "passed"
    elif report.failed and call.excinfo is not None and isinstance(exc, (GateFailed, CouldNotRun)):
        path, lineno = _location(item, call.excinfo)
        text = f"{message}\n\n{Path(path).name}:{lineno}" if lineno else message
        report.longrepr = _gate_repr(
            text, message.strip().splitlines()[0] if message.strip() else entry.decided_by, path, lineno
        )
    report.prodgate = entry.to_dict()  # type: ignore[attr-defined]
    report.user_properties.append(("prodgate.verdict", entry.verdict))
    report.user_properties.extend((f"prodgate.figure.{k}", v) for k, v in entry.figures.items())
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, Any] | None:
    entry = getattr(report, "prodgate", None)
    if not entry or report.when != "call":
        return None
    if entry["verdict"] == "warning":
        return "warned", "W", ("WARNING", {"yellow": True})
    if entry["verdict"] == "error" and report.failed:
        return "error", "E", ("ERROR", {"red": True})
    return None


class GateLog:
    """Collects the gate entries of a run (on the xdist controller, from its workers' reports)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        config.stash[ENTRIES] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = getattr(report, "prodgate", None)
        if entry is not None:
            from pytest_prodgate.verdict import GateEntry

            self.config.stash[ENTRIES].append(GateEntry.from_dict(entry))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        entries = gate_entries(self.config)
        if not entries:
            return
        from pytest_prodgate.verdict import decide_run

        if int(exitstatus) == 0 and not decide_run(entries).passed:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        entries = gate_entries(self.config)
        if not entries:
            return
        from pytest_prodgate.summary import render_table
        from pytest_prodgate.verdict import count_verdicts, decide_run

        columns = self.config.get_terminal_writer().fullwidth  # the table wraps its reasons to it
        counts = ", ".join(f"{n} {verdict}" for verdict, n in count_verdicts(entries).items())
        terminalreporter.write_sep("=", f"prodgate gates: {counts}")
        for line in render_table(entries, columns):
            terminalreporter.write_line(line)
        target = target_description(self.config)
        if target:
            terminalreporter.write_line(f"target: {target}")
        for lines in self.config.hook.pytest_prodgate_summary_lines(config=self.config, entries=entries):
            for line in lines:
                terminalreporter.write_line(line)
        for entry in entries:
            if entry.verdict == "warning":
                terminalreporter.write_line(f"warning (non-blocking) {entry.nodeid}:")
                for line in entry.message.splitlines():
                    terminalreporter.write_line(f"    {line}")
        decision = decide_run(entries)
        said = "gates passed" if decision.passed else "gates NOT passed"
        terminalreporter.write_line(f"{said}: {decision.reason}", bold=True, red=not decision.passed)
