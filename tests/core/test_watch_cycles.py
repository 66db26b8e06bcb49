"""Cycles as real pytest subprocesses: a hung cycle is killed, a stop signal cuts the cycle in flight."""

from __future__ import annotations

import io
import re
import signal
from pathlib import Path

from pytest_prodgate.watch.config import WatchSettings
from pytest_prodgate.watch.scheduler import Watcher
from pytest_prodgate.watch.store import StateStore
from tests.waiting import wait_for
from tests.watch_support import WatcherProcess, history, status

# Passes at once, unless the file "hang" exists beside the project: then it says so and sleeps.
SLEEPY_GATE = """\
import pathlib
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.health
def test_sleepy(gate):
    if (HERE / "hang").exists():
        (HERE / "hanging").write_text("yes")
        time.sleep(120)
    gate.record("latency", 0.001)
"""


def project(root: Path, toml: str = "") -> Path:
    (root / "gates").mkdir(parents=True)
    (root / "gates" / "test_sleepy.py").write_text(SLEEPY_GATE)
    (root / "pyproject.toml").write_text(
        '[tool.prodgate.watch]\nmarker = "health"\npytest_args = ["gates"]\nevery = "1s"\n' + toml
    )
    return root


def test_a_hung_cycle_is_killed_and_counted_as_an_error_for_the_gates_it_held(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    watch = {"marker": "health", "pytest_args": ["gates"], "every": "100ms", "cycle_timeout": "120s"}
    out = io.StringIO()
    assert Watcher(WatchSettings.from_sections(watch, {}, root=root), cycles=1, out=out).run() == 0
    (root / "hang").write_text("")
    # Long enough for pytest to start on a busy machine, far shorter than the gate's 120 s sleep.
    settings = WatchSettings.from_sections({**watch, "cycle_timeout": "20s"}, {}, root=root)
    assert Watcher(settings, cycles=1, out=out).run() == 0

    first, second = history(root)
    assert (first["outcome"], first["gates"][0]["observed"]) == ("ok", "up")
    assert second["outcome"] == "timeout" and second["exit_status"] is None
    [held] = second["gates"]
    assert (held["gate"], held["observed"]) == ("gates/test_sleepy.py::test_sleepy", "error")
    assert held["reason"] == "the cycle ran past its timeout of 20 s and was killed"
    assert "cycle 2 timeout in" in out.getvalue()
    gate = StateStore(settings.state_path).gates()["gates/test_sleepy.py::test_sleepy"]
    assert (gate.state, gate.failures, gate.observed) == ("up", 1, "error")  # one bad cycle alerts nobody


def test_sigterm_cuts_the_cycle_in_flight_and_keeps_the_state_of_the_last_whole_cycle(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    watcher = WatcherProcess(root)
    try:
        wait_for(lambda: len(history(root)) >= 1, deadline=120, what="a first cycle")
        (root / "hang").write_text("")
        wait_for(lambda: (root / "hanging").exists(), deadline=120, what="a cycle that hangs")
        cycles_before = len(history(root))
        watcher.process.send_signal(signal.SIGTERM)
        assert watcher.process.wait(60) == 0
        output = watcher.output()
        assert "SIGTERM received: stopping" in output
        assert "cycle cut short after" in output and "state of the last whole cycle kept" in output
        assert f"stopped after cycle {cycles_before}; state saved in" in output
    finally:
        watcher.close()
    assert len(history(root)) == cycles_before
    shown = status(root)
    assert shown.returncode == 0, shown.stderr
    assert f"prodgate status: 1 gates, {cycles_before} cycles" in shown.stdout
    assert "gates/test_sleepy.py::test_sleepy  up" in shown.stdout


def test_a_cycle_that_writes_no_report_is_an_error_with_pytests_words(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    settings = WatchSettings.from_sections(
        {"marker": "health", "pytest_args": ["gates", "--no-such-option"], "every": "100ms"}, {}, root=root
    )
    assert Watcher(settings, cycles=1, out=io.StringIO()).run() == 0
    [line] = history(root)
    assert line["outcome"] == "error" and line["exit_status"] == 4
    [held] = line["gates"]
    assert held["gate"] == "<cycle>" and held["observed"] == "error"
    assert held["reason"].startswith("pytest exited with code 4 and wrote no gate report: ")
    assert "unrecognized arguments: --no-such-option" in held["reason"]


def system_project(root: Path, thresholds: list[str]) -> Path:
    root.mkdir(parents=True)
    shown = ", ".join(f'"{t}"' for t in thresholds)
    (root / "pyproject.toml").write_text(
        f'[tool.prodgate.readiness]\nchecks = ["system"]\n\n[tool.prodgate.readiness.system]\nthresholds = [{shown}]\n'
    )
    return root


def test_the_system_gate_runs_in_a_watch_and_goes_down_when_a_resource_passes_its_threshold(tmp_path: Path) -> None:
    watch = {"marker": "readiness", "every": "100ms", "failures_before_alert": 1}
    healthy = system_project(tmp_path / "roomy", ["cpu <= 100%", "memory <= 100%", "disk <= 100%"])
    assert Watcher(WatchSettings.from_sections(watch, {}, root=healthy), cycles=1, out=io.StringIO()).run() == 0
    [line] = history(healthy)
    [gate] = line["gates"]
    assert (gate["gate"], gate["family"], gate["observed"]) == ("readiness::system", "readiness", "up")
    assert {"cpu", "memory", "disk", "disk_free"} <= set(gate["figures"])
    assert 0 < gate["figures"]["memory"] < 1

    full = system_project(tmp_path / "full", ["memory < 0.001%"])
    assert Watcher(WatchSettings.from_sections(watch, {}, root=full), cycles=1, out=io.StringIO()).run() == 0
    [line] = history(full)
    [gate] = line["gates"]
    assert (gate["observed"], gate["state"]) == ("down", "down")
    memory = gate["figures"]["memory"]
    shown = re.fullmatch(r"memory ([0-9.]+) %, wanted < 0.001 %", gate["reason"])
    assert shown is not None, gate["reason"]
    assert abs(float(shown.group(1)) - memory * 100) < 0.1  # the measured value, as the report rounds it


def test_alerts_a_killed_watcher_saved_but_did_not_send_go_out_when_it_starts_again(tmp_path: Path) -> None:
    from pytest_prodgate.watch.alerts import test_message
    from tests.watch_support import receiver

    root = project(tmp_path / "p")
    with receiver() as hooks:
        settings = WatchSettings.from_sections(
            {"marker": "health", "pytest_args": ["gates"], "every": "100ms"},
            {"webhooks": [{"url": f"{hooks.url}/hook"}, {"url": f"{hooks.url}/kept"}]},
            root=root,
        )
        store = StateStore(settings.state_path)
        unsent = test_message("production", "2026-12-03T14:00:00Z")
        # As a watcher SIGKILLed right after saving its cycle leaves it; a channel since removed is dropped.
        store.save_cycle(
            [], [], {"cycles": 0}, [(settings.alerts.channels[0].key, unsent.to_dict()), ("0123abcd", unsent.to_dict())]
        )
        out = io.StringIO()
        assert Watcher(settings, cycles=1, out=out).run() == 0

        assert hooks.bodies("/hook") == [unsent.payload] and hooks.bodies("/kept") == []
    assert "sending 1 alerts the previous watcher saved but did not send" in out.getvalue()
    assert store.outbox() == []
    [channel] = store.channel_results()
    assert (channel.ok, channel.result) == (True, "HTTP 200")
