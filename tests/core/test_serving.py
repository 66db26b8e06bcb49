"""The serving-stack check against real servers: development ones fail naming what was seen, production ones pass."""

from __future__ import annotations

import http.server
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_prodgate.readiness.serving import check_serving
from pytest_prodgate.thresholds import Verdict
from tests.core.test_readiness_django import project
from tests.health_support import App, free_port, json_response, serve
from tests.serving_servers import BIN, app_dir, running

__all__ = ["project"]  # a fixture, used by name

PY = sys.version_info
ROOT_WAIVER = {"serving.root": "the test container runs every process as root"}


def test_serving_fails_naming_runserver_from_header_and_process_when_django_runserver_serves(project: Path) -> None:
    port = free_port()
    with running([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"], cwd=project, port=port) as url:
        result = check_serving(url)

    assert result.verdict is Verdict.FAIL
    lines = [f.line() for f in result.findings]
    assert lines[0].startswith("[serving.development] served by a development server: Server: WSGIServer/0.2 CPython/")
    assert lines[0].endswith("is Django's runserver / wsgiref (a development server)")
    assert any(
        line.endswith(f"manage.py runserver 127.0.0.1:{port} (Django's runserver)") and f"port {port}" in line
        for line in lines[1:]
    ), lines
    assert result.figures["development_signs"] == len(lines) >= 2


def test_serving_fails_naming_werkzeug_when_its_development_server_serves(tmp_path: Path) -> None:
    port = free_port()
    folder = app_dir(tmp_path)
    with running([sys.executable, "werkzeug_app.py", str(port)], cwd=folder, port=port) as url:
        result = check_serving(url)

    assert result.verdict is Verdict.FAIL
    (finding,) = result.findings
    assert finding.id == "serving.development"
    assert finding.message.startswith("served by a development server: Server: Werkzeug/")
    assert finding.message.endswith("is Werkzeug's development server (flask run, app.run())")
    assert any("werkzeug_app.py" in note and "not a server this check knows" in note for note in result.notes)


def test_serving_fails_naming_http_server_from_header_and_process_when_python_http_server_serves(
    tmp_path: Path,
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with running(command, cwd=tmp_path, port=port) as url:
        result = check_serving(url)

    assert result.verdict is Verdict.FAIL
    messages = [f.message for f in result.findings]
    assert messages[0] == (
        f"served by a development server: Server: SimpleHTTP/0.6 Python/{PY.major}.{PY.minor}.{PY.micro} is "
        "python -m http.server (a development server)"
    )
    assert messages[1].endswith(f"-m http.server {port} --bind 127.0.0.1 (python -m http.server)")
    assert "the response is HTTP/1.0, as http.server and wsgiref answer" in result.notes


def test_serving_passes_with_settings_figures_when_gunicorn_serves_with_sound_settings(tmp_path: Path) -> None:
    port = free_port()
    folder = app_dir(tmp_path)
    command = [
        str(BIN / "gunicorn"),
        "--workers",
        "2",
        "--timeout",
        "30",
        "--max-requests",
        "1000",
        "--max-requests-jitter",
        "100",
        "--bind",
        f"127.0.0.1:{port}",
        "wsgi_app:app",
    ]
    if os.geteuid() == 0:  # the master starts as root and its workers drop to nobody (the app loads first)
        command[1:1] = ["--preload", "--user", "65534", "--group", "65534"]
    with running(command, cwd=folder, port=port) as url:
        result = check_serving(url)

    assert result.verdict is Verdict.PASS, result.message()
    assert result.summary == "Server: gunicorn"
    assert {k: result.figures[k] for k in ("workers", "cores", "timeout", "max_requests", "max_requests_jitter")} == {
        "workers": 2,
        "cores": 2,
        "timeout": 30,
        "max_requests": 1000,
        "max_requests_jitter": 100,
    }
    assert result.waived == []


def test_serving_fails_naming_each_setting_when_gunicorn_runs_one_worker_without_timeout_or_recycling(
    tmp_path: Path,
) -> None:
    port = free_port()
    folder = app_dir(tmp_path)
    command = [str(BIN / "gunicorn"), "-w", "1", "--timeout", "0", "--bind", f"127.0.0.1:{port}", "wsgi_app:app"]
    with running(command, cwd=folder, port=port) as url:
        result = check_serving(url, cores=2)

    assert result.verdict is Verdict.FAIL
    assert [f.id for f in result.findings] == [
        "serving.workers",
        "serving.timeout",
        "serving.max_requests",
        "serving.root",
    ]
    messages = [f.message for f in result.findings]
    assert messages[0] == (
        "gunicorn has 1 running worker(s) on 2 cores: wanted at least 2 (gunicorn's rule of thumb: 2 x cores + 1 = 5)"
    )
    assert messages[1] == "gunicorn timeout is 0: a stuck worker is never killed"
    assert messages[2].startswith("gunicorn max_requests is not set")
    assert messages[3].startswith("gunicorn's workers run as root (pid ")
    assert result.figures["workers"] == 1 and result.figures["timeout"] == 0


def test_serving_passes_when_uvicorn_serves_with_a_worker_per_core(tmp_path: Path) -> None:
    port = free_port()
    folder = app_dir(tmp_path)
    command = [str(BIN / "uvicorn"), "--workers", "2", "--host", "127.0.0.1", "--port", str(port), "asgi_app:app"]
    with running(command, cwd=folder, port=port) as url:
        result = check_serving(url, waivers=ROOT_WAIVER)

    assert result.verdict is Verdict.PASS, result.message()
    assert result.summary == "Server: uvicorn"
    assert result.figures["workers"] == 2 and result.figures["production_signs"] == 2
    assert "uvicorn (running): 2 worker(s) on 2 cores, reload False" in result.notes


def test_serving_fails_naming_reload_and_workers_when_uvicorn_runs_for_development(tmp_path: Path) -> None:
    port = free_port()
    folder = app_dir(tmp_path)
    command = [str(BIN / "uvicorn"), "--reload", "--host", "127.0.0.1", "--port", str(port), "asgi_app:app"]
    with running(command, cwd=folder, port=port) as url:
        result = check_serving(url, waivers=ROOT_WAIVER)

    assert result.verdict is Verdict.FAIL
    assert [f.id for f in result.findings] == ["serving.workers", "serving.reload"]
    assert result.findings[0].message.startswith("uvicorn has 1 running worker(s) on 2 cores: wanted at least 2")
    assert result.findings[1].message == "uvicorn runs with --reload, a development setting"


def test_configured_gunicorn_command_and_config_file_are_audited_when_the_process_is_not_local(tmp_path: Path) -> None:
    config = tmp_path / "gunicorn.conf.py"
    config.write_text("import multiprocessing\nworkers = 40\ntimeout = 600\nmax_requests = 500\n")
    with serve(App(lambda path, n: json_response(200, {"ok": True}))) as url:
        result = check_serving(
            url, cores=4, command="gunicorn -c gunicorn.conf.py shop.wsgi", config_file=str(config), waivers=ROOT_WAIVER
        )

    assert [f.line() for f in result.findings] == [
        "[serving.workers] gunicorn has 40 configured workers on 4 cores: wanted at most 4 x cores + 1 = 17 "
        "(more compete for CPU and memory)",
        "[serving.timeout] gunicorn timeout is 600 s, wanted <= 120 s",
        "[serving.max_requests] gunicorn max_requests is 500 without max_requests_jitter: every worker restarts at "
        "the same moment (wanted e.g. --max-requests-jitter 50)",
    ]


def test_configured_development_command_fails_when_the_process_is_not_local(tmp_path: Path) -> None:
    with serve(App(lambda path, n: json_response(200, {"ok": True}))) as url:
        result = check_serving(url, command="python manage.py runserver 0.0.0.0:8000")

    assert [f.line() for f in result.findings] == [
        "[serving.development] the configured command runs Django's runserver: python manage.py runserver 0.0.0.0:8000"
    ]


class _Anonymous(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response_only(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def anonymous() -> Iterator[str]:
    """A server that names nothing about itself (no Server header), in this test process."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Anonymous)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_serving_is_an_error_saying_what_was_tried_when_nothing_names_the_server(anonymous: str) -> None:
    result = check_serving(anonymous)
    accepted = check_serving(anonymous, unknown="pass")

    assert result.verdict is Verdict.ERROR
    assert result.error is not None
    assert result.error.startswith(f"Requested {anonymous} and looked for its server: no Server header names one (")
    assert "not a server this check knows" in result.error
    assert result.error.endswith('set [tool.prodgate.readiness.serving] unknown = "pass".')
    assert accepted.verdict is Verdict.PASS


def test_serving_is_an_error_with_the_reason_when_the_target_does_not_answer() -> None:
    url = f"http://127.0.0.1:{free_port()}/"

    result = check_serving(url, timeout=2.0)

    assert result.verdict is Verdict.ERROR
    assert result.message().startswith(f"could not run: Requested {url} (timeout 2 s): ConnectError: ")
    assert "Likely fix: start the target or correct the URL" in result.message()
