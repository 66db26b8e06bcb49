"""``prodgate watch`` against the demo service through a whole incident, with real channels.

The demo runs healthy, then ``not-ready`` (switched at run time through its state file), then
healthy again, while a real watcher (a subprocess) runs a one-gate project every second. Its alerts
go to a real HTTP receiver (the JSON webhook and an Apprise ``json://`` URL), to a real SMTP server
(aiosmtpd, through Apprise's ``mailto://``), to a port that refuses connections and to a receiver
that never answers. Midway the watcher is SIGKILLed and started again on the same state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pytest_prodgate.demo import DemoService
from pytest_prodgate.watch.config import channel_name
from tests.servers import free_port
from tests.waiting import wait_for
from tests.watch_support import (
    WatcherProcess,
    history,
    mailbox,
    receiver,
    status,
    switch_faults,
    write_project,
)

GATE = "gates/test_demo.py::test_demo_ready"


def scrape(metrics_url: str, metric: str, **labels: str) -> float | None:
    """The value of one sample of the watcher's /metrics, parsed with prometheus-client's text parser."""
    text = httpx.get(metrics_url, timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric and sample.labels.get("gate") == GATE and labels.items() <= sample.labels.items():
                return float(sample.value)
    return None


def gate_up(metrics_url: str) -> float | None:
    return scrape(metrics_url, "prodgate_gate_up")


def observed(lines: list[dict[str, Any]]) -> list[str]:
    return [line["gates"][0]["observed"] for line in lines if line["gates"]]


def events(bodies: list[dict[str, Any]]) -> list[str]:
    return [gate["event"] for body in bodies for gate in body.get("gates", [])]


def test_one_down_and_one_resolved_alert_reach_every_channel_when_the_demo_is_not_ready_for_a_while(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "demo-state.json"
    switch_faults(state_file, [])
    refused = f"http://127.0.0.1:{free_port()}/refused"
    with (
        DemoService.start(state_file=state_file) as demo,
        receiver() as hooks,
        receiver(hold=True) as hanging,
        mailbox() as (smtp_port, box),
    ):
        mailto = f"mailto://127.0.0.1:{smtp_port}?from=watch@shop.invalid&to=ops@shop.invalid&mode=insecure"
        project = write_project(
            tmp_path / "project",
            demo.base_url,
            f"""
[tool.prodgate.watch]
marker = "readiness"
pytest_args = ["gates"]
every = "1s"
cycle_timeout = "120s"

[tool.prodgate.alerts]
retries = 1
backoff = "100ms"

[[tool.prodgate.alerts.webhooks]]
url = "{hooks.url}/hook"

[[tool.prodgate.alerts.webhooks]]
url = "{refused}"
timeout = "2s"

[[tool.prodgate.alerts.webhooks]]
url = "{hanging.url}/hang"
timeout = "15s"

[[tool.prodgate.alerts.apprise]]
url = "json://127.0.0.1:{hooks.url.rsplit(":", 1)[1]}/apprise"

[[tool.prodgate.alerts.apprise]]
url = "{mailto}"
""",
        )
        first = WatcherProcess(project, "--metrics-port", "0")
        second: WatcherProcess | None = None
        try:
            first_metrics = first.metrics_url()
            wait_for(lambda: len(history(project)) >= 3, deadline=120, what="three healthy cycles")
            assert observed(history(project))[:3] == ["up", "up", "up"]
            assert gate_up(first_metrics) == 1.0
            latency = scrape(first_metrics, "prodgate_figure", name="latency", family="readiness")
            assert latency is not None and 0 < latency < 10  # seconds, a base unit
            assert scrape(first_metrics, "prodgate_gate_state", state="up") == 1.0

            switch_faults(state_file, ["not-ready"])
            [down] = wait_for(lambda: hooks.bodies("/hook"), deadline=120, what="the down alert")
            lines = history(project)
            failing = [line["cycle"] for line in lines if line["gates"][0]["observed"] == "down"]
            assert down["cycle"] == failing[2]  # after the third failing cycle, not before
            [gate] = down["gates"]
            assert (gate["gate"], gate["family"], gate["event"], gate["state"], gate["severity"]) == (
                GATE,
                "readiness",
                "down",
                "down",
                "critical",
            )
            assert gate["reason"] == "AssertionError: /health/ready answered 503"
            assert gate["since"] == next(line["finished"] for line in lines if line["cycle"] == failing[0])
            assert gate["figures"]["latency"] > 0
            wait_for(lambda: hooks.bodies("/apprise") and box.messages, deadline=60, what="apprise and email")
            assert gate_up(first_metrics) == 0.0

            # The hanging channel holds the down alert; the watcher carries on with its cycles meanwhile.
            wait_for(lambda: hanging.pending == 1, what="the hanging channel to hold the alert")
            wait_for(
                lambda: any(line["cycle"] > down["cycle"] for line in history(project)),
                deadline=120,
                what="the next cycle",
            )
            assert hanging.pending == 1 and f"alert to {channel_name(hanging.url)}" not in first.output()

            first.kill()  # mid-incident, without a chance to save anything
            second = WatcherProcess(project, "--metrics-port", "0")
            second_metrics = second.metrics_url()
            before = len(history(project))
            wait_for(lambda: len(history(project)) > before, deadline=120, what="a cycle of the restarted watcher")
            assert observed(history(project))[-1] == "down"
            assert gate_up(second_metrics) == 0.0

            switch_faults(state_file, [])
            wait_for(lambda: len(hooks.bodies("/hook")) >= 2, deadline=120, what="the resolved alert")
            lines = history(project)
            resolved = hooks.bodies("/hook")[1]
            healthy_after = [
                line["cycle"] for line in lines if line["cycle"] > failing[-1] and observed([line]) == ["up"]
            ]
            assert resolved["cycle"] == healthy_after[1]  # after the second healthy cycle
            assert events(resolved["gates"] and [resolved]) == ["resolved"]
            assert resolved["severity"] == "info"
            wait_for(lambda: len(box.messages) >= 2 and len(hooks.bodies("/apprise")) >= 2, what="resolved by email")
            assert gate_up(second_metrics) == 1.0

            # Exactly one down and one resolved alert on each channel, the restart notwithstanding.
            assert events(hooks.bodies("/hook")) == ["down", "resolved"]
            apprise_titles = [body["title"] for body in hooks.bodies("/apprise")]
            assert [t.rsplit(": ", 1)[1] for t in apprise_titles] == ["1 down", "1 resolved"]
            assert [m["Subject"].rsplit(": ", 1)[1] for m in box.messages] == ["1 down", "1 resolved"]
            body = box.messages[0].get_body(("plain",))
            assert body is not None and f"{GATE} (readiness): down since " in body.get_content()
            assert [body["type"] for body in hooks.bodies("/apprise")] == ["failure", "success"]

            # The refused channel is in the log and in prodgate status.
            wait_for(lambda: f"alert to {channel_name(refused)} failed: ConnectError" in second.output(), what="log")

            def refused_in_status() -> dict[str, Any] | None:
                shown = json.loads(status(project, "--json").stdout)
                return next((c for c in shown["channels"] if c["name"] == channel_name(refused)), None)

            channel = wait_for(refused_in_status, deadline=120, what="the refused channel in prodgate status")
            assert channel is not None and (channel["ok"], channel["result"]) == (False, "failed: ConnectError")

            assert second.terminate() == 0
            assert "SIGTERM received: stopping" in second.output()
            assert "stopped after cycle" in second.output()
        finally:
            first.close()
            if second is not None:
                second.close()

    # Every cycle is in the history, numbered without a gap across the restart.
    lines = history(project)
    assert [line["cycle"] for line in lines] == list(range(1, len(lines) + 1))
    pattern = observed(lines)
    downs = pattern.count("down")
    assert pattern[:3] == ["up", "up", "up"] and downs >= 4
    shown = json.loads(status(project, "--json").stdout)
    [gate_status] = shown["gates"]
    assert gate_status["state"] == "up"
    expected = pattern.count("up") / len(pattern)
    assert abs(gate_status["availability"]["24h"] - expected) < 1e-9
    [incident] = shown["incidents"]
    first_down = next(line for line in lines if observed([line]) == ["down"])
    assert incident["started"] == first_down["finished"]
    assert incident["ended"] == lines[[line["cycle"] for line in lines].index(resolved["cycle"])]["finished"]
    table = status(project)
    assert table.returncode == 0, table.stderr
    assert f"{GATE}: down from {incident['started']} to {incident['ended']}" in table.stdout
    assert f"{expected * 100:.1f}%" in table.stdout
    assert "FAILING" in table.stdout
    print(
        f"cycles {len(lines)}: {pattern}; down alert in cycle {down['cycle']}, resolved in cycle {resolved['cycle']};"
        f" availability 24h {expected:.3f}; incident {incident['started']} -> {incident['ended']}"
    )
    print(table.stdout)
