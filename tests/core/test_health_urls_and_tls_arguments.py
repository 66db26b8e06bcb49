"""How a probe's path joins the base URL, per-call TLS verification, and ``days_left`` in whole days.

Real parts: an ASGI app under uvicorn records the paths it was asked for; a TLS server with a
trustme certificate stands for a target whose CA is only known at run time.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.health import AsyncProbe, Probe, ProbeFailed, RetryPolicy
from pytest_prodgate.health.tls import check_certificate
from pytest_prodgate.thresholds import parse_threshold
from tests.health_support import App, serve, tls_server

ONCE = RetryPolicy(attempts=1, deadline=20)


@pytest.fixture(scope="module")
def app_url() -> Iterator[tuple[App, str]]:
    app = App(lambda path, n: (int(path.rsplit("/", 1)[-1]) if path.startswith("/status/") else 200, [], b"ok"))
    with serve(app) as url:
        yield app, url


@pytest.mark.parametrize(
    ("base", "path", "wanted"),
    [
        ("http://h/status/503", "", "http://h/status/503"),
        ("http://h/status/503/", "", "http://h/status/503/"),
        ("http://h", "", "http://h"),
        ("http://h/api", "/health", "http://h/api/health"),
        ("http://h/api", "health", "http://h/api/health"),
        ("http://h/api/", "/health/ready", "http://h/api/health/ready"),
        ("http://h/api/v1", "../v2/health", "http://h/api/v2/health"),
        ("http://h/search", "?q=shoes", "http://h/search?q=shoes"),
        ("http://h/api", "https://other.example/ping", "https://other.example/ping"),
    ],
)
def test_paths_join_the_base_url_as_documented_when_probed(base: str, path: str, wanted: str) -> None:
    assert Probe(base).url_for(path) == wanted


def test_an_empty_path_requests_the_base_url_itself_when_it_has_a_path(app_url: tuple[App, str]) -> None:
    # Before: probe.get("") with base http://h/status/503 requested http://h/status/503/ (a slash added).
    app, url = app_url
    result = Probe(f"{url}/status/503", policy=ONCE).get("", status=503)
    assert result.status == 503
    assert app.paths[-1] == "/status/503"
    assert result.url == f"{url}/status/503"


def test_a_relative_path_is_appended_to_the_base_path_when_probed(app_url: tuple[App, str]) -> None:
    app, url = app_url
    probe = Probe(f"{url}/api", policy=ONCE)
    probe.get("/health", status=200)
    probe.get("ready", status=200)
    assert app.paths[-2:] == ["/api/health", "/api/ready"]


def test_an_absolute_url_is_requested_as_it_is_when_probed(app_url: tuple[App, str]) -> None:
    app, url = app_url
    result = asyncio.run(AsyncProbe("http://127.0.0.1:9/elsewhere", policy=ONCE).get(f"{url}/status/204", status=204))
    assert result.status == 204
    assert app.paths[-1] == "/status/204"


def test_a_probe_verifies_against_a_ca_bundle_given_per_call(ca: tuple[trustme.CA, Path]) -> None:
    # Before: only a fixed verify/ca_bundle on the probe (from config); no per-call verification.
    authority, bundle = ca
    with tls_server(authority.issue_cert("127.0.0.1").configure_cert) as port:
        probe = Probe(f"https://127.0.0.1:{port}", policy=ONCE)  # the system store: the test CA is unknown
        with pytest.raises(ProbeFailed) as caught:
            probe.get("/health")
        by_path = probe.get("/health", status=200, contains="ok", ca_bundle=bundle)
        by_string = probe.get("/health", status=200, verify=str(bundle))
        context = ssl.create_default_context()
        authority.configure_trust(context)
        by_context = asyncio.run(AsyncProbe(probe.base_url, policy=ONCE).get("/health", status=200, verify=context))
        unverified = probe.get("/health", status=200, verify=False)
    attempt = caught.value.result.attempts[0] if caught.value.result else None
    assert attempt is not None and attempt.error == "TLS error" and "CERTIFICATE_VERIFY_FAILED" in attempt.detail
    assert [r.status for r in (by_path, by_string, by_context, unverified)] == [200, 200, 200, 200]


def test_a_per_call_ca_bundle_of_another_ca_fails_with_a_tls_error(ca: tuple[trustme.CA, Path], tmp_path: Path) -> None:
    authority, _ = ca
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with tls_server(authority.issue_cert("127.0.0.1").configure_cert) as port:
        probe = Probe(f"https://127.0.0.1:{port}", policy=ONCE, verify=False)
        with pytest.raises(ProbeFailed) as caught:
            probe.get("/health", ca_bundle=other)
    result = caught.value.result
    assert result is not None and result.attempts[0].error == "TLS error"


def test_per_call_tls_arguments_are_usage_errors_when_contradictory_or_unreadable(tmp_path: Path) -> None:
    probe = Probe("https://127.0.0.1:9", policy=ONCE)
    with pytest.raises(ConfigError, match="give either verify=False or ca_bundle=, not both"):
        probe.get("/", verify=False, ca_bundle=tmp_path / "ca.pem")
    with pytest.raises(ConfigError, match="ca_bundle '.*missing.pem' cannot be read as a CA bundle"):
        probe.get("/", ca_bundle=tmp_path / "missing.pem")


def test_days_left_reads_in_whole_days_when_the_figure_is_fractional(ca: tuple[trustme.CA, Path]) -> None:
    # Before: "days_left = 5.04, wanted > 14" and "(5.04 days left)".
    authority, bundle = ca
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    cert = authority.issue_cert("shop.test", not_after=now + datetime.timedelta(days=5, hours=1))
    with tls_server(cert.configure_cert) as port:
        report = check_certificate("127.0.0.1", port, server_name="shop.test", ca_bundle=str(bundle), now=now)
    assert report.days_left == 5.04  # the figure keeps its precision
    problems, results = report.judge("days_left > 14")
    assert problems == ["days_left = 5, wanted > 14"]
    assert "UTC (5 days left)" in report.describe(problems)
    assert results[0].measured == 5.04
    # Whole days never contradict the verdict: 5.04 against "> 5" passes, so it keeps its decimals.
    assert report.judge("days_left > 5")[0] == []
    assert parse_threshold("days_left > 5").judge(report.figures).message == "days_left = 5.04, wanted > 5"
    assert parse_threshold("days_left < 6").judge(report.figures).message == "days_left = 5, wanted < 6"
