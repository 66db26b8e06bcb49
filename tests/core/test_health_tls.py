"""The TLS certificate gate against a real local TLS server with trustme certificates."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pytest_prodgate.errors import GateFailed
from pytest_prodgate.health.tls import Certificate, check_certificate, hostname_matches
from tests.health_support import free_port, tls_server


@pytest.fixture
def now() -> datetime.datetime:
    """The instant a test's certificates are issued for and judged at (X.509 keeps whole seconds).

    Injected into ``check_certificate`` so ``days_left`` does not depend on how long the test took.
    """
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, str]:
    authority = trustme.CA()
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return authority, str(bundle)


def _check(
    cert: trustme.LeafCert, bundle: str | None, now: datetime.datetime | None = None, server_name: str = "shop.test"
) -> tuple[object, str]:
    with tls_server(cert.configure_cert) as port:
        report = check_certificate("127.0.0.1", port, server_name=server_name, ca_bundle=bundle, timeout=30, now=now)
    try:
        report.check()
    except GateFailed as exc:
        return report, str(exc)
    return report, ""


def test_tls_gate_passes_when_the_certificate_is_valid(ca: tuple[trustme.CA, str], now: datetime.datetime) -> None:
    authority, bundle = ca
    cert = authority.issue_cert("shop.test", not_after=now + datetime.timedelta(days=90))
    report, message = _check(cert, bundle, now)
    assert message == ""
    assert report.days_left == 90  # type: ignore[attr-defined]
    assert report.protocol in ("TLSv1.2", "TLSv1.3")  # type: ignore[attr-defined]
    assert report.figures == {"days_left": 90}  # type: ignore[attr-defined]


def test_days_left_count_from_the_check_when_no_time_is_given(ca: tuple[trustme.CA, str]) -> None:
    authority, bundle = ca
    cert = authority.issue_cert(
        "shop.test", not_after=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=90)
    )
    before = datetime.datetime.now(datetime.timezone.utc)
    with tls_server(cert.configure_cert) as port:
        report = check_certificate("127.0.0.1", port, server_name="shop.test", ca_bundle=bundle, timeout=30)
    after = datetime.datetime.now(datetime.timezone.utc)
    # However slow the machine, the check reads the clock while it runs and counts from then.
    assert report.certificate is not None and before <= report.checked_at <= after
    expected = (report.certificate.not_after - report.checked_at).total_seconds() / 86400
    assert report.days_left == round(expected, 2) and 89 < expected <= 90


def test_tls_gate_fails_with_days_left_when_the_certificate_expires_in_5_days(
    ca: tuple[trustme.CA, str], now: datetime.datetime
) -> None:
    authority, bundle = ca
    _, message = _check(authority.issue_cert("shop.test", not_after=now + datetime.timedelta(days=5)), bundle, now)
    lines = message.splitlines()
    assert lines[0].endswith(": days_left = 5, wanted > 14")
    assert lines[0].startswith("TLS certificate of shop.test (127.0.0.1:")
    assert lines[1].startswith("  subject:  OU=Testing cert") and "trustme" in lines[1]
    assert lines[2].startswith("  issuer:   OU=Testing CA")
    expiry = (now + datetime.timedelta(days=5)).strftime("%Y-%m-%d")
    assert lines[3].startswith(f"  expires:  {expiry}") and lines[3].endswith("UTC (5 days left)")


def test_tls_gate_fails_when_the_hostname_does_not_match(ca: tuple[trustme.CA, str]) -> None:
    authority, bundle = ca
    _, message = _check(authority.issue_cert("other.test"), bundle)
    assert "hostname 'shop.test' does not match the certificate (names: other.test)" in message.splitlines()[0]
    assert "chain not verified" not in message


def test_tls_gate_fails_on_the_chain_when_the_certificate_is_self_signed(
    tmp_path: Path, now: datetime.datetime
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with tls_server(lambda ctx: ctx.load_cert_chain(str(certfile), str(keyfile))) as port:
        report = check_certificate("127.0.0.1", port, server_name="shop.test", timeout=30)
    assert report.chain_error == "self-signed certificate"
    with pytest.raises(GateFailed) as caught:
        report.check()
    first, *rest = str(caught.value).splitlines()
    assert first.endswith("chain not verified against the system store: self-signed certificate")
    assert "  subject:  CN=shop.test" in rest and "  issuer:   CN=shop.test" in rest


def test_tls_gate_fails_on_the_chain_when_the_ca_is_not_trusted(ca: tuple[trustme.CA, str]) -> None:
    _, bundle = ca
    stranger = trustme.CA()
    _, message = _check(stranger.issue_cert("shop.test"), bundle)
    assert "chain not verified against the CA bundle" in message and "unable to get local issuer certificate" in message


def test_tls_gate_reports_the_connection_error_when_nothing_listens() -> None:
    report = check_certificate("127.0.0.1", free_port(), server_name="shop.test", timeout=2)
    assert report.certificate is None and report.figures == {}
    with pytest.raises(GateFailed, match="could not complete a TLS handshake with 127.0.0.1:.*: connection refused"):
        report.check()


def test_custom_threshold_replaces_the_default_when_given(ca: tuple[trustme.CA, str], now: datetime.datetime) -> None:
    authority, bundle = ca
    with tls_server(
        authority.issue_cert("shop.test", not_after=now + datetime.timedelta(days=20)).configure_cert
    ) as port:
        report = check_certificate("127.0.0.1", port, server_name="shop.test", ca_bundle=bundle, timeout=30, now=now)
    report.check()  # 20 > 14
    with pytest.raises(GateFailed, match=r"days_left = 20, wanted > 30"):
        report.check("days_left > 30")


def _cert(dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()) -> Certificate:
    epoch = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)  # the dates play no part in name matching
    return Certificate("CN=x", "CN=ca", epoch, epoch, dns_names=dns, ip_addresses=ips)


@pytest.mark.parametrize(
    ("hostname", "names", "expected"),
    [
        ("shop.test", ("shop.test",), True),
        ("SHOP.test", ("shop.test",), True),
        ("api.shop.test", ("*.shop.test",), True),
        ("a.b.shop.test", ("*.shop.test",), False),
        ("shop.test", ("*.shop.test",), False),
        ("other.test", ("shop.test",), False),
    ],
)
def test_hostname_matching_follows_rfc_6125_when_names_have_wildcards(
    hostname: str, names: tuple[str, ...], expected: bool
) -> None:
    assert hostname_matches(hostname, _cert(dns=names)) is expected


def test_ip_address_matches_only_ip_names_when_checking_an_address() -> None:
    assert hostname_matches("127.0.0.1", _cert(ips=("127.0.0.1",)))
    assert not hostname_matches("127.0.0.1", _cert(dns=("127.0.0.1",)))


def test_tls_gate_fails_with_negative_days_and_the_chain_when_the_certificate_has_expired(
    ca: tuple[trustme.CA, str], now: datetime.datetime
) -> None:
    authority, bundle = ca
    cert = authority.issue_cert(
        "shop.test", not_before=now - datetime.timedelta(days=30), not_after=now - datetime.timedelta(days=2)
    )
    _, message = _check(cert, bundle, now)
    first = message.splitlines()[0]
    assert "days_left = -2, wanted > 14" in first
    assert "chain not verified against the CA bundle" in first and "certificate has expired" in first


def test_tls_gate_names_the_protocol_when_older_than_wanted(ca: tuple[trustme.CA, str]) -> None:
    import ssl

    authority, bundle = ca
    cert = authority.issue_cert("shop.test")

    def tls12_only(context: ssl.SSLContext) -> None:
        cert.configure_cert(context)
        context.maximum_version = ssl.TLSVersion.TLSv1_2

    with tls_server(tls12_only) as port:
        report = check_certificate(
            "127.0.0.1", port, server_name="shop.test", ca_bundle=bundle, timeout=30, min_protocol="TLSv1.3"
        )
    assert report.protocol == "TLSv1.2"
    with pytest.raises(GateFailed, match="protocol TLSv1.2 is older than TLSv1.3"):
        report.check()
