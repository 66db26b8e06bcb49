"""The optional ``/metrics`` endpoint: each gate's state and figures as Prometheus gauges.

Names follow Prometheus' conventions (base units in the name, ``_total`` for counters), so Grafana
and alert rules read them as they are:

- ``prodgate_gate_up{gate,family,environment}``: 1 while the gate's state is up or degraded, else 0
- ``prodgate_gate_state{gate,family,environment,state}``: 1 for the gate's current state
- ``prodgate_gate_last_duration_seconds``, ``prodgate_gate_last_run_timestamp_seconds``
- ``prodgate_figure{gate,family,environment,name}``: each recorded figure in base units
- ``prodgate_cycles_total{outcome}``, ``prodgate_cycle_duration_seconds``, ``prodgate_alerts_total{channel,result}``

prometheus-client is imported only when a watcher serves metrics.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pytest_prodgate.watch.history import parse_time
from pytest_prodgate.watch.states import GateState

__all__ = ["MetricsServer"]

STATES = ("up", "degraded", "down", "error", "unknown")


class MetricsServer:
    """A registry of the watcher's gauges and an HTTP server answering ``GET /metrics``."""

    def __init__(self, host: str, port: int, environment: str | None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.environment = environment or ""
        self.registry = CollectorRegistry()
        labels = ["gate", "family", "environment"]
        self.up = Gauge(
            "prodgate_gate_up",
            "1 while the gate is up or degraded, 0 when down or in error",
            labels,
            registry=self.registry,
        )
        self.state = Gauge(
            "prodgate_gate_state", "1 for the gate's current state", [*labels, "state"], registry=self.registry
        )
        self.duration = Gauge(
            "prodgate_gate_last_duration_seconds", "How long the gate's last run took", labels, registry=self.registry
        )
        self.last_run = Gauge(
            "prodgate_gate_last_run_timestamp_seconds",
            "When the gate last ran (Unix time)",
            labels,
            registry=self.registry,
        )
        self.figure = Gauge(
            "prodgate_figure", "A figure the gate recorded, in base units", [*labels, "name"], registry=self.registry
        )
        self.cycles = Counter("prodgate_cycles", "Watch cycles run, by outcome", ["outcome"], registry=self.registry)
        self.cycle_duration = Gauge(
            "prodgate_cycle_duration_seconds", "How long the last cycle took", registry=self.registry
        )
        self.alerts = Counter(
            "prodgate_alerts", "Alert deliveries, by channel and result", ["channel", "result"], registry=self.registry
        )
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="prodgate-metrics", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/metrics"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self.registry

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

                if self.path.split("?")[0] not in ("/metrics", "/"):
                    self.send_error(404)
                    return
                body = generate_latest(registry)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def update(self, states: dict[str, GateState]) -> None:
        for s in states.values():
            labels = (s.gate, s.family or "", self.environment)
            self.up.labels(*labels).set(1 if s.state in ("up", "degraded") else 0)
            for name in STATES:
                self.state.labels(*labels, name).set(1 if s.state == name else 0)
            self.duration.labels(*labels).set(s.duration)
            if s.last_run:
                self.last_run.labels(*labels).set(parse_time(s.last_run).timestamp())
            for name, value in s.figures.items():
                if value is not None:
                    self.figure.labels(*labels, name).set(value)

    def cycle(self, outcome: str, seconds: float) -> None:
        self.cycles.labels(outcome).inc()
        self.cycle_duration.set(seconds)

    def alert(self, channel: str, ok: bool) -> None:
        self.alerts.labels(channel, "sent" if ok else "failed").inc()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
