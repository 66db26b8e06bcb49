"""The security-header audit: each missing or weak item named, waivers with reasons."""

from __future__ import annotations

import pytest

from pytest_prodgate.errors import ConfigError, GateFailed
from pytest_prodgate.health.headers import AuditOptions, audit_headers

GOOD = [
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("Content-Security-Policy", "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Set-Cookie", "sid=abc; Secure; HttpOnly; SameSite=Lax"),
    ("Server", "nginx"),
]


def _without(name: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in GOOD if k != name]


def test_audit_passes_when_every_header_is_present() -> None:
    audit = audit_headers(GOOD, url="https://shop.test/")
    assert audit.ok and audit.missing == [] and audit.figures == {"violations": 0, "waived_count": 0}
    audit.check()


@pytest.mark.parametrize(
    ("removed", "item", "text"),
    [
        ("Strict-Transport-Security", "strict-transport-security", "Strict-Transport-Security is missing"),
        ("Content-Security-Policy", "content-security-policy", "Content-Security-Policy is missing"),
        ("X-Content-Type-Options", "x-content-type-options", "X-Content-Type-Options is missing (wanted nosniff)"),
        ("Referrer-Policy", "referrer-policy", "Referrer-Policy is missing"),
    ],
)
def test_audit_names_the_header_when_it_is_missing(removed: str, item: str, text: str) -> None:
    audit = audit_headers(_without(removed), url="https://shop.test/")
    assert audit.missing == [item]
    with pytest.raises(GateFailed) as caught:
        audit.check()
    message = str(caught.value)
    assert message.splitlines()[0] == f"security headers of https://shop.test/: 1 missing or weak: {item}"
    assert f"  - {item}: {text}" in message


def test_audit_names_frame_protection_and_csp_when_neither_x_frame_options_nor_frame_ancestors_is_sent() -> None:
    # A strong CSP has frame-ancestors, so X-Frame-Options is missed only beside a CSP without it.
    headers = [
        (k, "default-src 'none'; base-uri 'none'" if k == "Content-Security-Policy" else v)
        for k, v in _without("X-Frame-Options")
    ]
    audit = audit_headers(headers, url="https://shop.test/")
    assert audit.missing == ["content-security-policy", "frame-protection"]
    assert "  - frame-protection: X-Frame-Options is missing" in audit.describe()
    assert "frame-ancestors is missing (any site may frame this one (clickjacking))" in audit.describe()


def test_frame_ancestors_counts_as_frame_protection_when_x_frame_options_is_absent() -> None:
    headers = [*_without("X-Frame-Options")]
    headers = [
        (k, "default-src 'none'; base-uri 'none'; frame-ancestors 'none'" if k == "Content-Security-Policy" else v)
        for k, v in headers
    ]
    assert audit_headers(headers).ok


def test_audit_names_weak_hsts_when_max_age_is_short_and_subdomains_missing() -> None:
    headers = [(k, "max-age=3600" if k == "Strict-Transport-Security" else v) for k, v in GOOD]
    (finding,) = audit_headers(headers).problems
    assert finding.message == (
        "Strict-Transport-Security is weak: max-age = 3600, wanted >= 15552000; includeSubDomains is missing"
    )
    relaxed = AuditOptions(hsts_min_age=3600, hsts_include_subdomains=False)
    assert audit_headers(headers, options=relaxed).ok


def test_audit_names_each_cookie_without_showing_its_value_when_attributes_lack() -> None:
    headers = [
        *_without("Set-Cookie"),
        ("Set-Cookie", "sid=s3cret; Path=/"),
        ("Set-Cookie", "theme=dark; Secure; HttpOnly"),
    ]
    (finding,) = audit_headers(headers).problems
    assert finding.item == "cookies"
    assert finding.message == "cookie 'sid' lacks Secure, HttpOnly, SameSite; cookie 'theme' lacks SameSite"
    assert "s3cret" not in audit_headers(headers).describe()


def test_audit_names_the_banner_when_server_reveals_a_version() -> None:
    headers = [*_without("Server"), ("Server", "Apache/2.4.57 (Debian)"), ("X-Powered-By", "PHP/8.2.1")]
    (finding,) = audit_headers(headers).problems
    assert finding.message == "Server or X-Powered-By reveals a version: 'Apache/2.4.57 (Debian)', 'PHP/8.2.1'"


def test_waived_items_pass_and_are_listed_with_their_reason_when_configured() -> None:
    options = AuditOptions(waivers={"strict-transport-security": "TLS ends at the load balancer"})
    audit = audit_headers(_without("Strict-Transport-Security"), url="http://shop.test/", options=options)
    assert audit.ok and audit.figures == {"violations": 0, "waived_count": 1}
    assert "strict-transport-security: Strict-Transport-Security is missing" in audit.describe()
    assert "(waived: TLS ends at the load balancer)" in audit.describe()


def test_unknown_waiver_is_a_config_error_naming_it_when_misspelt() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown item 'content-security-polcy' \(did you mean 'content-security-policy'\?\)"
    ):
        AuditOptions(waivers={"content-security-polcy": "x"})


def test_waiver_without_a_reason_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs a reason"):
        AuditOptions(waivers={"cookies": " "})
