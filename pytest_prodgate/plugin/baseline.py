"""Pytest glue for the baseline: ``--prodgate-baseline PATH``, each gate's baseline, the terminal's changes.

The baseline report is read once per process (xdist workers read it too: their thresholds compare
with it). Each gate gets its ``BaselineScope`` before its setup, and that scope is current while the
gate runs, so a relative threshold judged by any family's engine (``probe(...).check(...)``, a data
rule) compares with it. The core lives in ``pytest_prodgate/baseline.py`` and ``bounds.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.plugin.report import without_group_suffix
from pytest_prodgate.plugin.stash import gate_entries, gate_for, is_gate, settings

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.baseline import Baseline
    from pytest_prodgate.verdict import GateEntry

BASELINE = pytest.StashKey["Baseline | None"]()

# Rows of figure changes the terminal summary shows (the reports show all).
MAX_CHANGES = 12


def add_baseline_options(addoption: Any, addini: Any | None = None) -> None:
    """``--prodgate-baseline`` and its ini twin."""
    addoption(
        "--prodgate-baseline",
        dest="prodgate_baseline",
        metavar="PATH",
        default=None,
        help="Compare every gate with the JSON gate report at PATH (thresholds such as 'p95 < baseline * 1.1')",
    )
    if addini is not None:
        addini("prodgate_baseline", "Default path of the baseline JSON gate report", default=None)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prodgate", "production gates (pytest-prodgate)")
    add_baseline_options(group.addoption, parser.addini)


def _path(config: pytest.Config) -> Path | None:
    """The option (relative to the invocation directory), the ini key, or ``[tool.prodgate.report] baseline``."""
    option = config.getoption("prodgate_baseline", None)
    if option:
        return Path(config.invocation_params.dir, option)
    value = config.getini("prodgate_baseline") or settings(config).section("report").get("baseline")
    return Path(config.rootpath, str(value)) if value else None


def baseline_of(config: pytest.Config) -> Baseline | None:
    """The run's baseline, read on first use; ``None`` when none was given."""
    if BASELINE not in config.stash:
        path = _path(config)
        loaded = None
        if path is not None:
            from pytest_prodgate.baseline import Baseline

            section = settings(config).section("report")
            try:
                loaded = Baseline.load(
                    path,
                    renamed=section.get("baseline_renamed") or {},
                    missing=str(section.get("baseline_missing") or "warning"),
                )
            except ConfigError as exc:
                raise pytest.UsageError(f"--prodgate-baseline: {exc}") from None
            # Reports name it as the user wrote it, not by this machine's absolute path.
            shown = config.getoption("prodgate_baseline", None) or config.getini("prodgate_baseline")
            loaded = dataclasses.replace(loaded, source=str(shown or section.get("baseline")))
        config.stash[BASELINE] = loaded
    return config.stash[BASELINE]


def pytest_sessionstart(session: pytest.Session) -> None:
    """A missing or broken baseline is a usage error before any test runs (exit 4)."""
    baseline_of(session.config)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    baseline = baseline_of(item.config)
    if baseline is None or not is_gate(item):
        return (yield)
    from pytest_prodgate.bounds import active_baseline  # runs with a baseline only: not every pytest run

    scope = baseline.scope_for(without_group_suffix(item.nodeid))
    gate_for(item).baseline = scope
    with active_baseline(scope):
        return (yield)


def change_lines(entries: list[GateEntry], limit: int = MAX_CHANGES) -> list[str]:
    """``name: figure was -> now ▲ +x%`` for the figures the gates' thresholds read, biggest change first."""
    from pytest_prodgate.thresholds import figure_kind, format_change, format_value

    rows: list[tuple[float, str]] = []
    unmatched = []
    for entry in entries:
        if entry.baseline is None:
            continue
        if entry.baseline.get("absent"):
            unmatched.append(entry.name)
            continue
        judged = {str(t.get("figure")) for t in entry.thresholds}
        for name, delta in entry.deltas().items():
            base, change = delta.get("baseline"), delta.get("change")
            measured = entry.figures.get(name)
            if name not in judged or base is None or measured is None:
                continue
            kind = figure_kind(name)
            text = (
                f"{entry.name}: {name} {format_value(base, kind=kind)} -> {format_value(measured, kind=kind)} "
                f"{format_change(measured, base)}"
            )
            rows.append((abs(change) if change is not None else 0.0, text))
    rows.sort(key=lambda row: -row[0])
    lines = [text for _, text in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"...and {len(rows) - limit} more (see the JSON, Markdown or HTML report)")
    if unmatched:
        lines.append(f"not in the baseline: {', '.join(unmatched)}")
    return lines


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    baseline = config.stash.get(BASELINE, None)
    entries = gate_entries(config)
    if baseline is None or not entries:
        return
    commit = f" (commit {baseline.commit[:12]})" if baseline.commit else ""
    terminalreporter.write_line(f"baseline: {baseline.source}{commit}")
    for line in change_lines(entries):
        terminalreporter.write_line(f"  {line}")
