"""CSP strength in the header audit: a real server sends each weak policy (named) and a strong one (passes)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pytest_prodgate.errors import GateFailed
from pytest_prodgate.health.csp import csp_weaknesses
from pytest_prodgate.health.headers import AuditOptions, audit_headers
from tests.health_support import App, serve

STRONG = (
    "default-src 'self'; script-src 'self' 'nonce-r4nd0m'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
OTHER_HEADERS = [
    ("strict-transport-security", "max-age=31536000; includeSubDomains"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
]
# path -> the policy that path sends (the query string picks it, so one server serves them all)
POLICIES = {
    "/issue": "default-src * 'unsafe-inline'",  # what passed before: only "is a CSP sent" was checked
    "/wildcard": "default-src 'self'; connect-src *; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "/inline": "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "/inline-nonce": "default-src 'self'; script-src 'unsafe-inline' 'nonce-abc123'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "/eval": "default-src 'self'; script-src 'self' 'unsafe-eval' 'sha256-AbC='; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "/bare": "script-src 'self'",
    "/http": "default-src 'self' http://cdn.shop.test; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "/scheme": "default-src 'self'; script-src https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "/strong": STRONG,
    "/images": "default-src 'none'; img-src *; base-uri 'none'; frame-ancestors 'none'",
}


def _handler(path: str, n: int) -> tuple[int, list[tuple[str, str]], bytes]:
    return 200, [("content-type", "text/html"), ("content-security-policy", POLICIES[path]), *OTHER_HEADERS], b"<p>"


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve(App(_handler)) as url:
        yield url


def _audit(site: str, path: str, *, as_url: str | None = None, options: AuditOptions | None = None):  # type: ignore[no-untyped-def]
    response = httpx.get(site + path, timeout=10)
    return audit_headers(response.headers.multi_items(), url=as_url or "https://shop.test" + path, options=options)


@pytest.mark.parametrize(
    ("path", "weaknesses"),
    [
        (
            "/issue",
            [
                "default-src allows any origin ('*')",
                "default-src allows 'unsafe-inline' without a nonce or hash (default-src stands in for script-src)",
                "object-src is missing (plugins (<object>, <embed>) may load from anywhere default-src allows; "
                "wanted 'none')",
                "base-uri is missing (an injected <base> can redirect relative script URLs)",
                "frame-ancestors is missing (any site may frame this one (clickjacking))",
            ],
        ),
        ("/wildcard", ["connect-src allows any origin ('*')"]),
        ("/inline", ["script-src allows 'unsafe-inline' without a nonce or hash"]),
        ("/eval", ["script-src allows 'unsafe-eval' (eval of strings; nonces and hashes do not limit it)"]),
        (
            "/bare",
            [
                "default-src is missing (every fetch directive not named is unrestricted)",
                "object-src is missing (plugins (<object>, <embed>) may load from anywhere default-src allows; "
                "wanted 'none')",
                "base-uri is missing (an injected <base> can redirect relative script URLs)",
                "frame-ancestors is missing (any site may frame this one (clickjacking))",
            ],
        ),
        ("/http", ["default-src allows plain http sources on an https site (http://cdn.shop.test)"]),
        ("/scheme", ["script-src allows any host of https:"]),
    ],
)
def test_header_gate_fails_naming_each_weakness_when_server_sends_a_weak_csp(
    site: str, path: str, weaknesses: list[str]
) -> None:
    audit = _audit(site, path)

    assert audit.missing == ["content-security-policy"]
    (finding,) = audit.problems
    assert finding.message == "Content-Security-Policy is weak: " + "; ".join(weaknesses)
    with pytest.raises(GateFailed) as caught:
        audit.check()
    assert str(caught.value).splitlines() == [
        f"security headers of https://shop.test{path}: 1 missing or weak: content-security-policy",
        f"  - content-security-policy: {finding.message}",
    ]
    assert audit.figures["violations"] == 1


@pytest.mark.parametrize("path", ["/strong", "/inline-nonce", "/images"])
def test_header_gate_passes_when_server_sends_a_strong_csp(site: str, path: str) -> None:
    audit = _audit(site, path)

    assert audit.ok, audit.describe()
    assert audit.figures == {"violations": 0, "waived_count": 0}


def test_http_sources_pass_when_the_site_itself_is_plain_http(site: str) -> None:
    assert _audit(site, "/http", as_url=site + "/http").ok


def test_weak_csp_passes_with_its_reason_when_waived(site: str) -> None:
    options = AuditOptions(waivers={"content-security-policy": "legacy admin pages need inline scripts until Q3"})

    audit = _audit(site, "/inline", options=options)

    assert audit.ok
    (waived,) = audit.waived
    assert (
        waived.message == "Content-Security-Policy is weak: script-src allows 'unsafe-inline' without a nonce or hash"
    )
    assert "(waived: legacy admin pages need inline scripts until Q3)" in audit.describe()


def test_first_directive_wins_and_names_are_case_insensitive_when_policy_repeats_one() -> None:
    policy = "DEFAULT-SRC 'self'; default-src *; Object-Src 'none'; base-uri 'self'; frame-ancestors 'self'"
    assert csp_weaknesses(policy) == []
