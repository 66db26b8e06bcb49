"""The watcher's rules without a watcher: states, alert decisions, history, configuration, channels."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pytest_prodgate.cli import main
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.watch.alerts import decide_alerts, messages_by_channel
from pytest_prodgate.watch.channels import Message, send_with_retries
from pytest_prodgate.watch.config import AlertSettings, Channel, WatchSettings, channel_name
from pytest_prodgate.watch.history import History
from pytest_prodgate.watch.states import GateObservation, GateState, advance, observe

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def seen(observed: str, severity: str = "blocking") -> GateObservation:
    return GateObservation("gates/t.py::test_a", "health", severity, observed, f"observed {observed}", {"p95": 0.2})


def run(observations: list[str], severity: str = "blocking") -> tuple[GateState, list[tuple[int, str, str | None]]]:
    state: GateState | None = None
    changes = []
    for index, observed in enumerate(observations):
        state, change = advance(
            state, seen(observed, severity), now=at(index), failures_before_alert=3, successes_before_resolve=2
        )
        if change is not None:
            changes.append((index, change.event, change.since))
    assert state is not None
    return state, changes


def test_a_single_blip_changes_nothing_when_the_gate_recovers_the_next_cycle() -> None:
    state, changes = run(["up", "down", "up", "down", "down", "up"])
    assert changes == [] and state.state == "up" and state.since == at(0)


def test_the_gate_goes_down_on_the_third_failing_cycle_and_resolves_on_the_second_good_one() -> None:
    state, changes = run(["up", "down", "down", "down", "down", "up", "up", "up"])
    assert changes == [(3, "down", at(1)), (6, "resolved", at(6))]
    assert state.state == "up" and state.failures == 0 and state.successes == 3


def test_a_warning_gate_is_degraded_not_down_when_it_fails() -> None:
    assert observe({"nodeid": "n", "verdict": "fail", "severity": "warning"}).observed == "degraded"
    _, changes = run(["up", "degraded", "degraded", "degraded"], severity="warning")
    assert changes == [(3, "degraded", at(1))]


def test_an_incident_keeps_its_start_when_the_gate_moves_from_down_to_error() -> None:
    _, changes = run(["up", "down", "down", "down", "error", "error"])
    assert changes == [(3, "down", at(1)), (4, "error", at(1))]  # already an incident: no new count to wait for


def test_observe_maps_each_verdict_onto_a_state_when_reading_the_gate_report() -> None:
    entry = {"nodeid": "n", "family": "health", "severity": "blocking", "decided_by": "why", "figures": {}}
    assert [observe({**entry, "verdict": v}).observed for v in ("pass", "warning", "fail", "error", "skip")] == [
        "up",
        "degraded",
        "down",
        "error",
        "error",
    ]
    assert observe({**entry, "verdict": "skip", "skip_allowed": "plain http"}).observed == "up"
    assert observe({**entry, "verdict": "fail", "severity": "warning"}).observed == "degraded"


def down_state(**changes: Any) -> GateState:
    from dataclasses import replace

    return replace(GateState(gate="g", family="health", state="down", since=at(0), reason="p95 812 ms"), **changes)


def test_a_gate_that_flaps_within_the_cooldown_is_not_alerted_again_nor_its_recovery() -> None:
    from pytest_prodgate.watch.states import Change

    settings = AlertSettings(cooldown=300, reminder=0)
    states = {"g": down_state(last_down_alert=at(0))}
    items, states, notes = decide_alerts(states, [Change("g", "up", "down", at(100))], settings, now=at(100))
    assert items == [] and notes == ["g is down again within the cooldown; not alerted"]
    states["g"] = GateState(**{**states["g"].to_dict(), "state": "up"})
    items, _, notes = decide_alerts(states, [Change("g", "down", "up", at(160))], settings, now=at(160))
    assert items == [] and "no alert went out for it" in notes[0]


def test_a_reminder_goes_out_when_a_gate_stays_down_past_the_reminder_interval() -> None:
    settings = AlertSettings(reminder=3600)
    states = {"g": down_state(alerted=True, last_alert=at(0))}
    assert decide_alerts(states, [], settings, now=at(3599))[0] == []
    items, states, _ = decide_alerts(states, [], settings, now=at(3600))
    assert [(i.event, i.severity) for i in items] == [("reminder", "critical")]
    assert states["g"].last_alert == at(3600)


def test_each_channel_gets_one_message_with_only_the_severities_it_subscribes_to() -> None:
    from pytest_prodgate.watch.alerts import AlertItem

    items = [
        AlertItem("down", "critical", down_state(gate="a"), "up"),
        AlertItem("resolved", "info", GateState(gate="b", state="up", reason="ok"), "down"),
    ]
    pager = Channel("webhook", "http://127.0.0.1:1/pager", severities=("critical",))
    chat = Channel("apprise", "json://127.0.0.1:1/chat")
    sends = messages_by_channel(items, [pager, chat], environment="production", now=at(0), cycle=7)
    assert [(c.url, [g["gate"] for g in m.payload["gates"]]) for c, m in sends] == [
        (pager.url, ["a"]),
        (chat.url, ["a", "b"]),
    ]
    assert sends[1][1].title == "prodgate watch (production): 1 down, 1 resolved"
    assert sends[1][1].payload["cycle"] == 7 and sends[1][1].severity == "critical"


def test_history_rotates_by_size_and_keeps_the_configured_count(tmp_path: Path) -> None:
    history = History(tmp_path / "history.jsonl", max_bytes=300, keep=2)
    for n in range(30):
        history.append({"cycle": n, "started": at(n), "gates": [{"gate": "g", "observed": "up"}]})
    files = history.files()
    assert [p.name for p in files] == ["history.jsonl.2", "history.jsonl.1", "history.jsonl"]
    kept = [c["cycle"] for c in history.cycles()]
    assert kept == list(range(kept[0], 30)) and kept[0] > 0


def test_availability_counts_up_and_degraded_cycles_in_each_window_when_a_line_is_torn(tmp_path: Path) -> None:
    history = History(tmp_path / "history.jsonl")
    pattern = ["up", "down", "degraded", "error"]
    for n, observed in enumerate(pattern):
        history.append({"cycle": n, "started": at(n * 1800), "gates": [{"gate": "g", "observed": observed}]})
    with history.path.open("a") as handle:
        handle.write('{"cycle": 4, "star')  # a watcher killed mid-write
    now = T0 + timedelta(seconds=3 * 1800 + 1)
    assert history.availability({"1h": 3600, "24h": 86400}, now=now) == {"g": {"1h": 0.5, "24h": 0.5}}


def test_a_bad_watch_setting_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"\[tool.prodgate.watch.every\]: 'often' is not a duration"):
        WatchSettings.from_sections({"every": "often"}, {}, root=Path("."))
    with pytest.raises(ConfigError, match="failures_before_alert must be at least 1, got 0"):
        WatchSettings.from_sections({"failures_before_alert": 0}, {}, root=Path("."))
    with pytest.raises(ConfigError, match=r"webhooks\[0\].url must be an http\(s\) URL"):
        WatchSettings.from_sections({}, {"webhooks": [{"url": "ftp://x"}]}, root=Path("."))


def test_prodgate_watch_exits_4_naming_file_key_and_token_when_the_config_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.prodgate.watch]\nevry = "1s"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["watch", "--cycles", "1"]) == 4
    err = capsys.readouterr().err
    assert err == (
        f"prodgate watch: error: {tmp_path / 'pyproject.toml'}: [tool.prodgate.watch]: unknown key 'evry' "
        "(did you mean 'every'?)\n"
    )
    assert main(["watch", "--every", "-5s"]) == 4
    assert "prodgate watch: error: --every '-5s': a duration must be positive" in capsys.readouterr().err


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_channel_is_retried_with_backoff_and_logged_when_it_never_answers() -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook?token=SECRET123"
    lines: list[str] = []
    result = send_with_retries(
        Channel("webhook", url, timeout=2), Message("t", "b", {}, "critical"), retries=2, backoff=0.01, log=lines.append
    )
    assert (result.ok, result.result, result.name) == (False, "failed: ConnectError", channel_name(url))
    assert lines == [
        f"alert to {channel_name(url)} failed: ConnectError; retrying in 0.01 s (attempt 1 of 3)",
        f"alert to {channel_name(url)} failed: ConnectError; retrying in 0.02 s (attempt 2 of 3)",
        f"alert to {channel_name(url)} failed: ConnectError (attempt 3 of 3)",
    ]
    assert "SECRET123" not in json.dumps(lines)


def test_test_alerts_reports_each_channel_when_one_works_and_one_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.watch_support import receiver

    refused = f"http://127.0.0.1:{closed_port()}/down"
    with receiver() as hooks:
        port = hooks.url.rsplit(":", 1)[1]
        (tmp_path / "pyproject.toml").write_text(
            "[tool.prodgate.alerts]\nretries = 0\n"
            f'[[tool.prodgate.alerts.webhooks]]\nurl = "{hooks.url}/hook"\n'
            f'[[tool.prodgate.alerts.webhooks]]\nurl = "{refused}"\ntimeout = "2s"\n'
            f'[[tool.prodgate.alerts.apprise]]\nurl = "json://127.0.0.1:{port}/apprise"\n'
        )
        monkeypatch.chdir(tmp_path)
        code = main(["watch", "--test-alerts", "--env", ""])
        out = capsys.readouterr().out
        assert code == 1, out
        assert out.splitlines() == [
            f"{channel_name(hooks.url)} (webhook): ok, HTTP 200",
            f"{channel_name(refused)} (webhook): FAILED, failed: ConnectError",
            f"json://127.0.0.1:{port}/... (apprise): ok, sent",
            "prodgate watch: 2 of 3 alert channels work",
        ]
        [hook] = hooks.bodies("/hook")
        assert (hook["event"], hook["type"], hook["severity"]) == ("prodgate.watch", "test", "info")
        [apprise_body] = hooks.bodies("/apprise")
        assert apprise_body["title"] == "prodgate watch (default environment): test alert"


def test_status_says_there_is_no_state_when_no_watcher_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["status"]) == 1
    assert capsys.readouterr().out == (
        f"no watcher state at {tmp_path / '.prodgate' / 'watch' / 'state.sqlite'}: run prodgate watch first\n"
    )


def test_a_metrics_port_in_use_is_a_usage_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["watch", "--cycles", "1", "--metrics-port", str(port)]) == 4
    assert capsys.readouterr().err == (
        f"prodgate watch: error: metrics_port: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
