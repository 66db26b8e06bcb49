"""A stand-in for the demo shop while ``pytest_prodgate.demo`` is not on this branch.

Same switch as the demo: a JSON state file ``{"version": "1.2.0", "faults": ["not-ready"]}`` read on
every request; ``/version`` answers the version, ``/health/ready`` 503 with the not-ready fault.
Prints ``prodgate demo listening on http://127.0.0.1:PORT (...)`` once it listens.
"""

from __future__ import annotations

import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

STATE = Path(sys.argv[1]) if len(sys.argv) > 1 else None


def release() -> tuple[str, list[str]]:
    try:
        data = json.loads(STATE.read_text()) if STATE else {}
    except (OSError, ValueError):
        data = {}
    return data.get("version", "1.0.0"), list(data.get("faults", []))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        version, faults = release()
        if self.path == "/version":
            status, body = 200, {"version": version}
        elif self.path in ("/health", "/health/live"):
            status, body = 200, {"status": "ok"}
        elif self.path == "/health/ready":
            ready = "not-ready" not in faults
            status, body = (200, {"status": "ok"}) if ready else (503, {"status": "unavailable"})
        else:
            status, body = 404, {"error": "not found"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"prodgate demo listening on http://127.0.0.1:{server.server_address[1]} (stand-in)", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
