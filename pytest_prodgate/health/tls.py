"""The TLS certificate gate: days until expiry, hostname match, chain, protocol version.

Two handshakes: an unverified one reads the peer certificate whatever its state (so a failure
can show its subject, issuer and expiry), a verified one checks the chain against the system
store or a given CA bundle. The hostname is matched against the certificate's names here, so
a wrong name and an untrusted chain are reported as two different problems.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cryptography import x509

from pytest_prodgate.errors import ConfigError, GateFailed
from pytest_prodgate.health.results import missed_only
from pytest_prodgate.thresholds import Threshold, ThresholdResult, parse_threshold

__all__ = ["DEFAULT_TLS_THRESHOLDS", "Certificate", "CertificateReport", "check_certificate", "hostname_matches"]

DEFAULT_TLS_THRESHOLDS = ("days_left > 14",)
_PROTOCOL_RANK = {"SSLv3": 0, "TLSv1": 1, "TLSv1.1": 2, "TLSv1.2": 3, "TLSv1.3": 4}


@dataclass(frozen=True)
class Certificate:
    """The parts of an X.509 certificate a person needs to act on a failed gate."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    common_name: str | None = None

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        cert = x509.load_der_x509_certificate(der)
        dns: list[str] = []
        ips: list[str] = []
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            dns = [str(n) for n in san.get_values_for_type(x509.DNSName)]
            ips = [str(a) for a in san.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:
            pass
        common = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return cls(
            subject=cert.subject.rfc4514_string() or "(empty)",
            issuer=cert.issuer.rfc4514_string() or "(empty)",
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            dns_names=tuple(dns),
            ip_addresses=tuple(ips),
            common_name=str(common[0].value) if common else None,
        )

    @property
    def names(self) -> tuple[str, ...]:
        return self.dns_names + self.ip_addresses


def hostname_matches(hostname: str, certificate: Certificate) -> bool:
    """RFC 6125 matching: IP addresses against IP names, else DNS names (``*`` only as the whole first label)."""
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        address = None
    if address is not None:
        return any(ipaddress.ip_address(ip) == address for ip in certificate.ip_addresses)
    wanted = hostname.lower().rstrip(".")
    names = certificate.dns_names or ((certificate.common_name,) if certificate.common_name else ())
    for name in names:
        pattern = name.lower().rstrip(".")
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "." in wanted:
            first, rest = wanted.split(".", 1)
            if first and rest == pattern[2:]:
                return True
    return False


@dataclass
class CertificateReport:
    """What the TLS gate found at ``host:port`` for ``server_name``."""

    host: str
    port: int
    server_name: str
    checked_at: datetime
    certificate: Certificate | None = None
    protocol: str | None = None
    chain_error: str | None = None
    trust: str = "the system store"
    error: str | None = None
    min_protocol: str = "TLSv1.2"
    check_hostname: bool = True
    check_chain: bool = True
    thresholds: tuple[Threshold, ...] = field(default_factory=tuple)

    @property
    def days_left(self) -> float | None:
        if self.certificate is None:
            return None
        return round((self.certificate.not_after - self.checked_at).total_seconds() / 86400, 2)

    @property
    def hostname_ok(self) -> bool:
        return self.certificate is not None and hostname_matches(self.server_name, self.certificate)

    @property
    def protocol_ok(self) -> bool:
        wanted = _PROTOCOL_RANK.get(self.min_protocol, 3)
        return self.protocol is not None and _PROTOCOL_RANK.get(self.protocol, -1) >= wanted

    @property
    def figures(self) -> dict[str, float]:
        days = self.days_left
        return {} if days is None else {"days_left": days}

    def problems(self) -> list[str]:
        """Every problem besides thresholds: connection, hostname, chain, protocol."""
        if self.error is not None:
            return [self.error]
        found: list[str] = []
        assert self.certificate is not None
        if self.check_hostname and not self.hostname_ok:
            names = ", ".join(self.certificate.names) or "none"
            found.append(f"hostname {self.server_name!r} does not match the certificate (names: {names})")
        if self.check_chain and self.chain_error is not None:
            found.append(f"chain not verified against {self.trust}: {self.chain_error}")
        if not self.protocol_ok:
            found.append(f"protocol {self.protocol} is older than {self.min_protocol}")
        return found

    def judge(self, *thresholds: str) -> tuple[list[str], list[ThresholdResult]]:
        parsed = [parse_threshold(t) for t in thresholds] if thresholds else list(self.thresholds)
        results = [t.judge(self.figures) for t in parsed] if self.certificate is not None else []
        missed = [r.message for r in results if not r.passed]
        return missed + self.problems(), results

    def check(self, *thresholds: str) -> CertificateReport:
        """Raise ``GateFailed`` naming every problem; thresholds default to the report's (``days_left > 14``)."""
        __tracebackhide__ = True
        problems, results = self.judge(*thresholds)
        if problems:
            raise GateFailed(self.describe(problems), missed_only(results))
        return self

    @property
    def ok(self) -> bool:
        return not self.judge()[0]

    def describe(self, problems: Sequence[str] = ()) -> str:
        lines = [f"TLS certificate of {self.server_name} ({self.host}:{self.port}): " + ("; ".join(problems) or "ok")]
        cert = self.certificate
        if cert is not None:
            days = self.days_left
            lines += [
                f"  subject:  {cert.subject}",
                f"  issuer:   {cert.issuer}",
                f"  expires:  {cert.not_after:%Y-%m-%d %H:%M:%S} UTC ({_whole_days(days)} left)",
                f"  names:    {', '.join(cert.names) or 'none'}",
                f"  protocol: {self.protocol}",
                "  chain:    "
                + (f"NOT verified ({self.chain_error})" if self.chain_error else f"verified against {self.trust}"),
            ]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        cert = self.certificate
        return {
            "host": self.host,
            "port": self.port,
            "server_name": self.server_name,
            "protocol": self.protocol,
            "days_left": self.days_left,
            "subject": cert.subject if cert else None,
            "issuer": cert.issuer if cert else None,
            "not_after": cert.not_after.isoformat() if cert else None,
            "names": list(cert.names) if cert else [],
            "chain_error": self.chain_error,
            "error": self.error,
        }


def _whole_days(days: float | None) -> str:
    """Whole days completed before expiry, as people count them: 5.04 and 5.9 are "5 days"."""
    if days is None:
        return "unknown"
    if days < 0:
        ago = math.floor(-days)
        return ("expired today" if ago == 0 else f"expired {_days(ago)} ago") + ", no days"
    return _days(math.floor(days))


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _handshake(host: str, port: int, context: ssl.SSLContext, server_name: str, timeout: float) -> ssl.SSLSocket:
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sni = None if _is_ip(server_name) else server_name
        return context.wrap_socket(sock, server_hostname=sni)
    except BaseException:
        sock.close()
        raise


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def check_certificate(
    host: str,
    port: int = 443,
    *,
    server_name: str | None = None,
    ca_bundle: str | None = None,
    timeout: float = 10.0,
    thresholds: Sequence[str] = DEFAULT_TLS_THRESHOLDS,
    min_protocol: str = "TLSv1.2",
    check_hostname: bool = True,
    check_chain: bool = True,
    now: datetime | None = None,
) -> CertificateReport:
    """Connect to ``host:port`` and report on its certificate, as presented for ``server_name`` (SNI).

    Never raises for what it finds: connection failures, bad chains and wrong names are in the
    report; ``report.check()`` turns them into a ``GateFailed``.
    """
    if min_protocol not in _PROTOCOL_RANK:
        raise ConfigError(f"min_protocol {min_protocol!r} is not one of {', '.join(_PROTOCOL_RANK)}")
    name = server_name or host
    report = CertificateReport(
        host=host,
        port=port,
        server_name=name,
        checked_at=now or datetime.now(timezone.utc),
        trust=f"the CA bundle {ca_bundle}" if ca_bundle else "the system store",
        min_protocol=min_protocol,
        check_hostname=check_hostname,
        check_chain=check_chain,
        thresholds=tuple(parse_threshold(t) for t in thresholds),
    )
    # 1. Read the certificate whatever its state, and the protocol the server settles on.
    reader = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    reader.check_hostname = False
    reader.verify_mode = ssl.CERT_NONE
    try:
        reader.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    except (ValueError, AttributeError):  # pragma: no cover - depends on the OpenSSL build
        pass
    try:
        with _handshake(host, port, reader, name, timeout) as tls:
            der = tls.getpeercert(binary_form=True)
            report.protocol = tls.version()
    except (OSError, ssl.SSLError) as exc:
        report.error = f"could not complete a TLS handshake with {host}:{port}: {_reason(exc)}"
        return report
    if not der:
        report.error = f"{host}:{port} presented no certificate"
        return report
    report.certificate = Certificate.from_der(der)
    # 2. Verify the chain (hostname is checked above, separately, to tell the two apart).
    verifier = ssl.create_default_context(cafile=ca_bundle)
    verifier.check_hostname = False
    try:
        with _handshake(host, port, verifier, name, timeout):
            pass
    except ssl.SSLCertVerificationError as exc:
        report.chain_error = exc.verify_message or _reason(exc)
    except (OSError, ssl.SSLError) as exc:
        report.chain_error = _reason(exc)
    return report


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    return str(exc) or type(exc).__name__
