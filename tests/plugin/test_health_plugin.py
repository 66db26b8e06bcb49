"""The health family through pytest: fixtures, declarative endpoints, failures, waivers, usage errors."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.health_support import App, json_response, serve, tls_server

pytest_plugins = ["pytester"]

SECURE_HEADERS = [
    ("strict-transport-security", "max-age=31536000; includeSubDomains"),
    ("content-security-policy", "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
]


def _service(path: str, n: int) -> tuple[int, list[tuple[str, str]], bytes]:
    if path == "/health/live":
        return json_response(200, {"status": "ok"}, SECURE_HEADERS)
    if path == "/health/ready":
        return json_response(
            503, {"status": "not-ready", "database": "down"}, [("authorization", "Bearer s3cr3t-t0ken")]
        )
    if path == "/health/detailed":
        return json_response(200, {"status": "ok", "checks": {"database": {"status": "ok", "latency_ms": 2}}})
    if path == "/bare":
        return 200, [("content-type", "text/plain"), ("server", "nginx/1.25.3")], b"bare"
    return json_response(200, {"status": "ok"}, SECURE_HEADERS)


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    with serve(App(_service)) as url:
        yield url


# What a user's project sets anyway; it keeps pytest-asyncio's deprecation notice off stderr.
PYTEST_TABLE = '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'


def _pyproject(pytester: pytest.Pytester, health: str) -> None:
    pytester.makefile(
        ".toml",
        pyproject=f'{PYTEST_TABLE}\n[tool.prodgate.health]\nbackoff = "10ms"\n{health}\n',
    )


def test_probe_records_latency_status_and_attempts_when_endpoint_is_healthy(
    pytester: pytest.Pytester, service: str
) -> None:
    _pyproject(pytester, "")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.health(thresholds=["latency < 5s"])
        def test_live(probe):
            result = probe.get("/health/live", status=200, json=['status == "ok"'])
            assert result.status == 200
        """
    )
    reprec = pytester.inline_run("--base-url", service, "-p", "no:randomly")
    reprec.assertoutcome(passed=1)
    (call,) = [r for r in reprec.getreports("pytest_runtest_logreport") if r.when == "call"]
    figures = call.prodgate["figures"]
    assert figures["status"] == 200 and figures["attempts"] == 1 and 0 < figures["latency"] < 5
    assert call.prodgate["thresholds"][0]["verdict"] == "pass"
    assert call.prodgate["details"]["probes"][0]["attempts"][0]["status"] == 200


def test_failure_shows_503_attempts_and_masked_last_response_when_not_ready(
    pytester: pytest.Pytester, service: str
) -> None:
    _pyproject(pytester, "retries = 2")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.health
        def test_ready(probe):
            probe.get("/health/ready", status=200)
        """
    )
    result = pytester.runpytest("--base-url", service, "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*GET http://127.0.0.1:*/health/ready: status = 503, wanted 200",
            "*attempts (3 in * s, all 3 attempts used):",
            "*#1 * +  0.000 s  503 *ms",
            "*#3 * 503 *ms",
            "*last response: 503 Service Unavailable",
            "*authorization: ********",
            '*body (43 bytes): {"status": "not-ready", "database": "down"}',
        ]
    )
    assert "s3cr3t-t0ken" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_async_probe_waits_until_healthy_when_used_with_pytest_asyncio(pytester: pytest.Pytester, service: str) -> None:
    _pyproject(pytester, "")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.health(thresholds=["attempts == 1"])
        async def test_detailed(async_probe):
            result = await async_probe.wait_until_healthy(
                "/health/detailed", timeout="5s", json=['checks.database.status == "ok"']
            )
            assert result.json()["checks"]["database"]["latency_ms"] == 2
        """
    )
    result = pytester.runpytest("--base-url", service, "-p", "no:randomly")
    result.assert_outcomes(passed=1)


ENDPOINTS = """
[[tool.prodgate.health.endpoints]]
name = "live"
path = "/health/live"
latency = "5s"
json = ['status == "ok"']

[[tool.prodgate.health.endpoints]]
name = "ready"
path = "/health/ready"
retries = 1

[[tool.prodgate.health.endpoints]]
name = "detailed"
path = "/health/detailed"
json = ['checks.database.status == "ok"', "checks.database.latency_ms < 100"]
"""


def test_declarative_endpoints_become_health_items_with_readable_ids_when_configured(
    pytester: pytest.Pytester, service: str
) -> None:
    _pyproject(pytester, ENDPOINTS)
    result = pytester.runpytest("--base-url", service, "-m", "health", "-v", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "health::live[[]GET /health/live[]] PASSED*",
            "health::ready[[]GET /health/ready[]] FAILED*",
            "health::detailed[[]GET /health/detailed[]] PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["*status = 503, wanted 200*", "*attempts (2 in *"])


def test_declarative_endpoints_are_not_collected_when_the_run_is_outside_collect_in(
    pytester: pytest.Pytester, service: str
) -> None:
    _pyproject(pytester, 'collect_in = "gates"\n' + ENDPOINTS)
    pytester.mkdir("gates")
    pytester.mkdir("tests")
    pytester.path.joinpath("tests", "test_unit.py").write_text("def test_unit():\n    pass\n")
    outside = pytester.runpytest("tests", "--base-url", service, "-p", "no:randomly")
    outside.assert_outcomes(passed=1)
    inside = pytester.runpytest("gates", "--base-url", service, "--collect-only", "-q", "-p", "no:randomly")
    inside.stdout.fnmatch_lines(["health::live[[]GET /health/live[]]", "health::ready*", "health::detailed*"])


def test_typo_in_endpoint_key_exits_4_with_one_line_naming_the_entry_when_collecting(
    pytester: pytest.Pytester,
) -> None:
    _pyproject(pytester, '[[tool.prodgate.health.endpoints]]\nname = "ready"\npath = "/health/ready"\nstauts = 200\n')
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    assert result.ret == 4
    lines = [line for line in result.stderr.lines if line.strip()]
    assert len(lines) == 1, result.stderr.lines
    assert lines[0].startswith("ERROR: ")
    assert "[tool.prodgate.health] endpoint 'ready': unknown key 'stauts' (did you mean 'status'?)" in lines[0]
    assert "pyproject.toml" in lines[0]


def test_bad_json_condition_exits_4_naming_the_entry_when_collecting(pytester: pytest.Pytester) -> None:
    _pyproject(pytester, '[[tool.prodgate.health.endpoints]]\nname = "live"\npath = "/"\njson = ["status = \'ok\'"]\n')
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: *endpoint 'live'*JSON condition \"status = 'ok'\": '=' is not a comparison*"])


def test_header_gate_names_each_missing_header_when_they_are_absent(pytester: pytest.Pytester, service: str) -> None:
    _pyproject(pytester, "")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.health
        def test_headers(security_headers):
            security_headers.check("/bare")
        """
    )
    result = pytester.runpytest("--base-url", service, "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            (
                "*security headers of http://127.0.0.1:*/bare: 6 missing or weak: strict-transport-security, "
                "content-security-policy, x-content-type-options, frame-protection, referrer-policy, server-banner*"
            ),
            "*- strict-transport-security: Strict-Transport-Security is missing*",
            "*- content-security-policy: Content-Security-Policy is missing",
            "*- x-content-type-options: X-Content-Type-Options is missing (wanted nosniff)",
            "*- frame-protection: X-Frame-Options is missing*",
            "*- referrer-policy: Referrer-Policy is missing*",
            "*- server-banner: Server or X-Powered-By reveals a version: 'nginx/1.25.3'",
        ]
    )


def test_waivers_pass_the_gate_and_are_shown_with_their_reason_when_configured(
    pytester: pytest.Pytester, service: str
) -> None:
    _pyproject(
        pytester,
        '[tool.prodgate.health.security_headers]\npaths = ["/health/live"]\n'
        "[tool.prodgate.health.security_headers.waivers]\n"
        'strict-transport-security = "TLS ends at the load balancer, which sets HSTS"\n',
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.health
        def test_headers(security_headers):
            audit = security_headers.check("/health/live", waivers={"referrer-policy": "not used here"})
            assert audit.waived == []
        """
    )
    result = pytester.runpytest("--base-url", service, "-v", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["health::headers[[]GET /health/live[]] PASSED*"])
    # /health/live sends every header: nothing needed waiving, so no waiver is listed.
    assert "health waivers" not in result.stdout.str()
    _pyproject(
        pytester,
        '[tool.prodgate.health.security_headers]\npaths = ["/bare"]\n'
        "[tool.prodgate.health.security_headers.waivers]\n"
        'strict-transport-security = "TLS ends at the load balancer, which sets HSTS"\n'
        'content-security-policy = "API only: no HTML"\n'
        'x-content-type-options = "API only"\nframe-protection = "API only"\n'
        'referrer-policy = "API only"\nserver-banner = "patched in the next release"\n',
    )
    result = pytester.runpytest("--base-url", service, "-k", "headers and bare", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*- health waivers -*",
            "health::headers[[]GET /bare[]]: strict-transport-security waived (TLS ends at the load balancer, which sets HSTS)",
            "health::headers[[]GET /bare[]]: server-banner waived (patched in the next release)",
        ]
    )


def test_unknown_waiver_item_exits_4_naming_it_when_configured(pytester: pytest.Pytester) -> None:
    _pyproject(pytester, '[tool.prodgate.health.security_headers.waivers]\nhsts = "load balancer"\n')
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: *waivers: unknown item 'hsts'*"])


def test_tls_fixture_records_days_left_and_fails_with_the_figure_when_expiring(
    pytester: pytest.Pytester, ca: tuple[trustme.CA, Path]
) -> None:
    authority, bundle = ca
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5)
    cert = authority.issue_cert("shop.test", not_after=soon)
    with tls_server(cert.configure_cert) as port:
        _pyproject(
            pytester,
            f'[[tool.prodgate.health.tls]]\nname = "shop"\nhost = "127.0.0.1"\nport = {port}\n'
            f'server_name = "shop.test"\nca_bundle = "{bundle}"\n',
        )
        pytester.makepyfile(
            f"""
            import pytest

            @pytest.mark.health
            def test_certificate(tls):
                report = tls.certificate("127.0.0.1", {port}, server_name="shop.test", ca_bundle={str(bundle)!r})
                assert report.days_left == 5
            """
        )
        result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"health::shop[[]TLS 127.0.0.1:{port}[]] FAILED*",
            f"*TLS certificate of shop.test (127.0.0.1:{port}): days_left = 5, wanted > 14",
            "*subject:  OU=Testing cert*",
            "*expires:  * UTC (5 days left)",
        ]
    )
