"""Health gates: HTTP probes with retries, declarative endpoints, TLS certificates, security headers.

Plain Python (never imports pytest); ``fixtures.py`` and ``collect.py`` are the pytest glue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_prodgate.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.health.headers import AuditOptions, HeaderAudit, audit_headers
    from pytest_prodgate.health.jsonpath import JsonCondition, parse_condition
    from pytest_prodgate.health.probes import AsyncProbe, Probe, RetryPolicy
    from pytest_prodgate.health.results import Attempt, Expectation, ProbeFailed, ProbeResult
    from pytest_prodgate.health.tls import Certificate, CertificateReport, check_certificate

__all__ = [
    "AsyncProbe",
    "Attempt",
    "AuditOptions",
    "Certificate",
    "CertificateReport",
    "Expectation",
    "HeaderAudit",
    "JsonCondition",
    "Probe",
    "ProbeFailed",
    "ProbeResult",
    "RetryPolicy",
    "audit_headers",
    "check_certificate",
    "parse_condition",
]

# Each submodule (and its engine) is imported when one of its names is first used.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".headers": ("AuditOptions", "HeaderAudit", "audit_headers"),
        ".jsonpath": ("JsonCondition", "parse_condition"),
        ".probes": ("AsyncProbe", "Probe", "RetryPolicy"),
        ".results": ("Attempt", "Expectation", "ProbeFailed", "ProbeResult"),
        ".tls": ("Certificate", "CertificateReport", "check_certificate"),
    },
)
