"""Health gates: HTTP probes with retries, declarative endpoints, TLS certificates, security headers.

Plain Python (never imports pytest); ``fixtures.py`` and ``collect.py`` are the pytest glue.
"""

from __future__ import annotations

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
