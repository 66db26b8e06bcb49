"""The ``probe`` and ``tls`` fixtures: a CA bundle given at run time, and ``days_left`` in whole days."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import trustme

from tests.health_support import tls_server

pytest_plugins = ["pytester"]


def test_probe_fixture_verifies_against_a_bundle_given_per_call_or_through_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ca: tuple[trustme.CA, Path]
) -> None:
    authority, bundle = ca
    monkeypatch.setenv("SHOP_CA_BUNDLE", str(bundle))
    with tls_server(authority.issue_cert("127.0.0.1").configure_cert) as port:
        pytester.makefile(".toml", pyproject='[tool.prodgate.health]\nretries = 0\nca_bundle = "${SHOP_CA_BUNDLE}"\n')
        pytester.makepyfile(
            """
            import os
            import pytest

            @pytest.mark.health(thresholds=["status == 200"])
            def test_bundle_from_the_environment(probe):
                probe.get("/health", status=200, contains="ok")

            @pytest.mark.health(thresholds=["status == 200"])
            def test_bundle_per_call(probe):
                probe.get("/health", status=200, ca_bundle=os.environ["SHOP_CA_BUNDLE"], verify=None)

            @pytest.mark.health
            def test_system_store_per_call(probe):
                # fails: the per-call verify=True uses the system store, which does not know the test CA
                probe.get("/health", verify=True)
            """
        )
        result = pytester.runpytest("--base-url", f"https://127.0.0.1:{port}", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*#1 * TLS error*"])


def test_tls_fixture_fails_in_whole_days_when_the_certificate_expires_soon(
    pytester: pytest.Pytester, ca: tuple[trustme.CA, Path]
) -> None:
    # Before: "days_left = 5.04, wanted > 14" and "(5.04 days left)" for a certificate 5 days and 1 hour from expiry.
    authority, bundle = ca
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5, hours=1)
    with tls_server(authority.issue_cert("shop.test", not_after=soon).configure_cert) as port:
        pytester.makepyfile(
            f"""
            import pytest

            @pytest.mark.health
            def test_certificate(tls, gate):
                try:
                    tls.check("127.0.0.1", {port}, server_name="shop.test", ca_bundle={str(bundle)!r})
                finally:
                    assert 5.03 < gate.figures["days_left"] < 5.05  # the figure keeps its precision
            """
        )
        result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"TLS certificate of shop.test (127.0.0.1:{port}): days_left = 5, wanted > 14",
            "*expires:  * UTC (5 days left)",
        ]
    )
    result.stdout.no_fnmatch_line("*5.04*")
