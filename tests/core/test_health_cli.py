"""``prodgate health``: probe, wait, tls and headers from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_prodgate.cli import main
from tests.health_support import App, free_port, json_response, serve

HEADERS = [
    ("strict-transport-security", "max-age=31536000; includeSubDomains"),
    ("content-security-policy", "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
]


def test_wait_exits_0_when_the_target_becomes_healthy(capsys: pytest.CaptureFixture[str]) -> None:
    app = App(lambda path, i: json_response(503 if i < 3 else 200, {"status": "ok"}))
    with serve(app) as url:
        code = main(["health", "wait", f"{url}/health/ready", "--timeout", "10s", "--interval", "50ms"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"{url}/health/ready is healthy (200) after 3 attempts in ")


def test_probe_exits_1_with_the_history_when_nothing_listens(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/health"
    code = main(["health", "probe", url, "--retries", "1", "--deadline", "5s"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0] == f"GET {url}: no response (connection refused)"
    assert "attempts (2 in" in out


def test_headers_exits_1_naming_each_missing_header_and_0_when_waived(capsys: pytest.CaptureFixture[str]) -> None:
    app = App(lambda path, i: json_response(200, {}, [h for h in HEADERS if h[0] != "referrer-policy"]))
    with serve(app) as url:
        failed = main(["health", "headers", url + "/"])
        failed_out = capsys.readouterr().out
        waived = main(["health", "headers", url + "/", "--waive", "referrer-policy=API only"])
        waived_out = capsys.readouterr().out
    assert failed == 1 and "1 missing or weak: referrer-policy" in failed_out
    assert waived == 0 and "(waived: API only)" in waived_out


def test_tls_exits_4_when_the_target_is_malformed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health", "tls", "shop.example:https"]) == 4
    assert "is not HOST or HOST:PORT" in capsys.readouterr().err


def test_tls_exits_0_with_the_certificate_when_valid_and_1_when_expiring(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import datetime

    import trustme

    from tests.health_support import tls_server

    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5)
    for cert, wanted in ((ca.issue_cert("shop.test"), 0), (ca.issue_cert("shop.test", not_after=soon), 1)):
        with tls_server(cert.configure_cert) as port:
            code = main(
                ["health", "tls", f"127.0.0.1:{port}", "--server-name", "shop.test", "--ca-bundle", str(bundle)]
            )
        out = capsys.readouterr().out
        assert code == wanted, out
        assert out.startswith(f"TLS certificate of shop.test (127.0.0.1:{port}): ")
        assert ("days_left = 5, wanted > 14" in out) is (wanted == 1)
