"""``prodgate deploy --dry-run`` changes nothing; webhooks and email hear about every outcome."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_prodgate.deploy.config import Email
from pytest_prodgate.deploy.exitcodes import DeployExit
from pytest_prodgate.deploy.notify import notify_email
from tests.deploy_project import FAILING_READINESS, PY, Project, project, shop, step  # noqa: F401 (fixtures)
from tests.watch_support import Mailbox
from tests.watch_support import mailbox as smtp_mailbox


def everything_under(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def test_dry_run_shows_the_plan_runs_the_gates_and_changes_nothing_when_gates_pass(
    project: Project, tmp_path: Path
) -> None:
    before = everything_under(tmp_path)

    done = project.deploy("--dry-run")

    assert done.returncode == DeployExit.DEPLOYED, done.stdout + done.stderr
    assert everything_under(tmp_path) == before  # no record, lock, backup, cache or bytecode
    assert project.shop.version() == "1.0.0" and project.shop.ready_status() == 200
    lines = done.stdout.splitlines()
    assert lines[0].endswith(
        "(dry run): environment (base), target 127.0.0.1:" + project.shop.base_url.rsplit(":", 1)[1]
    )
    assert lines[1] == "  1. gates     pytest -m readiness  [timeout 600s]"
    assert lines[2] == "  2. backup    sqlite backup of app.db into .prodgate/backups/<id>/ (keep 5)  [timeout 600s]"
    assert lines[3] == f"  3. run       {PY} deploy.py 2.0.0  [timeout 60s]"
    assert lines[4].startswith("  4. verify    wait until http://127.0.0.1:")
    assert lines[5] == f"  5. rollback  on failure: {PY} rollback.py, then verify again  [timeout 60s]"
    assert "==> gates: pytest -m readiness" in lines
    assert lines[-1] == (
        "prodgate deploy (dry run): dry run: gates passed, nothing changed; backup, run, verify and rollback were not run"
    )


def test_dry_run_reports_failing_gates_and_changes_nothing_when_a_gate_fails(project: Project, tmp_path: Path) -> None:
    (project.root / "gates" / "test_blocked.py").write_text(FAILING_READINESS)
    before = everything_under(tmp_path)

    done = project.deploy("--dry-run")

    assert done.returncode == DeployExit.GATES_FAILED, done.stdout
    assert everything_under(tmp_path) == before
    assert done.stdout.splitlines()[-1] == (
        "prodgate deploy (dry run): gates failed, nothing changed; "
        "pre-deploy gates failed: 1 blocking gate did not pass (1 failed)"
    )


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, body))
        self.send_response(500 if self.path == "/broken" else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    received: list[tuple[str, dict[str, Any]]] = []
    handler = type("Handler", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_webhooks_receive_the_outcome_and_failures_do_not_change_it_when_a_deploy_rolls_back(
    project: Project, receiver: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    url, received = receiver
    project.configure(
        run=f"{PY} deploy.py 2.0.0 --fault not-ready",
        webhooks=[
            {"url": f"{url}/hooks/json"},
            {"url": f"{url}/services/T000/B000/XXXXSECRETXXXX", "format": "slack", "timeout": "2s"},
            {"url": f"{url}/broken"},
            {"url": f"http://127.0.0.1:{closed_port()}/nobody", "timeout": "1s"},
        ],
    )

    done = project.deploy()

    assert done.returncode == DeployExit.VERIFY_FAILED_ROLLED_BACK, done.stdout
    by_path = dict(received)
    plain = by_path["/hooks/json"]
    assert plain["event"] == "prodgate.deploy"
    assert plain["deployment"]["outcome"] == "verification failed, rolled back"
    assert plain["deployment"]["exit_code"] == 12
    assert [s["name"] for s in plain["deployment"]["steps"]][-2:] == ["rollback", "verify-after-rollback"]
    slack = by_path["/services/T000/B000/XXXXSECRETXXXX"]
    assert slack["text"].startswith("❌ prodgate deploy to 127.0.0.1:")
    assert ": verification failed, rolled back (exit code 12)" in slack["text"]
    assert slack["blocks"][0]["text"]["type"] == "mrkdwn"
    record = project.only_record()
    assert record["exit_code"] == 12
    results = [(n["format"], n["ok"], n["result"]) for n in record["notifications"]]
    assert results == [
        ("json", True, "HTTP 200"),
        ("slack", True, "HTTP 200"),
        ("json", False, "HTTP 500"),
        ("json", False, "failed: ConnectError"),
    ]
    assert "XXXXSECRETXXXX" not in json.dumps(record) and "XXXXSECRETXXXX" not in done.stdout
    assert "notification to http://127.0.0.1:" in done.stdout and "HTTP 500 (the outcome stands)" in done.stdout


def test_dry_run_notifies_nobody_when_webhooks_are_configured(
    project: Project, receiver: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    url, received = receiver
    project.configure(webhooks=[{"url": f"{url}/hooks/json"}])

    done = project.deploy("--dry-run")

    assert done.returncode == 0, done.stdout
    assert received == []


@pytest.fixture
def mailbox() -> Iterator[tuple[int, Mailbox]]:
    with smtp_mailbox() as box:
        yield box


def test_email_tells_people_the_outcome_when_an_smtp_server_is_configured(
    project: Project, mailbox: tuple[int, Mailbox]
) -> None:
    port, box = mailbox
    project.configure(
        email={"host": "127.0.0.1", "port": port, "sender": "deploy@shop.invalid", "to": ["ops@shop.invalid"]}
    )

    done = project.deploy()

    assert done.returncode == DeployExit.DEPLOYED, done.stdout
    [message] = box.messages
    assert message["To"] == "ops@shop.invalid" and message["From"] == "deploy@shop.invalid"
    assert message["Subject"].startswith("✅ prodgate deploy to 127.0.0.1:")
    assert message["Subject"].endswith(": deployed and verified (exit code 0)")
    body = message.get_content()
    assert "- run: passed (exit code 0)" in body and f"deployment {project.only_record()['id']}" in body
    assert project.only_record()["notifications"] == [
        {"url": f"smtp://127.0.0.1:{port}", "format": "email", "ok": True, "result": "sent"}
    ]


def test_email_failure_is_logged_and_returned_when_nothing_listens() -> None:
    log = io.StringIO()
    email = Email(host="127.0.0.1", port=closed_port(), to=("ops@shop.invalid",), timeout=2)

    result = notify_email(email, {"id": "x", "outcome": "deployed and verified", "exit_code": 0}, log=log)

    assert result == {
        "url": f"smtp://127.0.0.1:{email.port}",
        "format": "email",
        "ok": False,
        "result": "failed: ConnectionRefusedError",
    }
    assert (
        log.getvalue()
        == f"prodgate deploy: email to smtp://127.0.0.1:{email.port} failed: ConnectionRefusedError (the outcome stands)\n"
    )
