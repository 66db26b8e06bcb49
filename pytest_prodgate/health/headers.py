"""The security-header gate: each missing or weak header named, waivers with their reason.

Items audited (the same names are used in messages and in ``waivers``):
``strict-transport-security``, ``content-security-policy`` (sent, and strong: see ``csp.py``), ``x-content-type-options``,
``frame-protection`` (X-Frame-Options or CSP frame-ancestors), ``referrer-policy``,
``cookies`` (Secure, HttpOnly, SameSite on every Set-Cookie) and ``server-banner`` (no version
in Server or X-Powered-By). Cookie values are never shown, only cookie names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_prodgate.errors import ConfigError, GateFailed
from pytest_prodgate.health.csp import csp_weaknesses
from pytest_prodgate.thresholds import parse_duration

__all__ = ["ITEMS", "AuditOptions", "Finding", "HeaderAudit", "audit_headers"]

ITEMS = (
    "strict-transport-security",
    "content-security-policy",
    "x-content-type-options",
    "frame-protection",
    "referrer-policy",
    "cookies",
    "server-banner",
)
DEFAULT_HSTS_MIN_AGE = 180 * 86400
_VERSION = re.compile(r"\d+(\.\d+)+|/\s*\d")
_WEAK_REFERRER = {"unsafe-url", "no-referrer-when-downgrade"}


@dataclass(frozen=True)
class AuditOptions:
    """How strict the audit is, and which items are waived (item -> reason)."""

    hsts_min_age: int = DEFAULT_HSTS_MIN_AGE
    hsts_include_subdomains: bool = True
    waivers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for item, reason in self.waivers.items():
            if item not in ITEMS:
                hint = difflib.get_close_matches(item, ITEMS, n=1)
                known = f"did you mean {hint[0]!r}?" if hint else "known items: " + ", ".join(ITEMS)
                raise ConfigError(f"[tool.prodgate.health.security_headers] waivers: unknown item {item!r} ({known})")
            if not isinstance(reason, str) or not reason.strip():
                raise ConfigError(
                    f"[tool.prodgate.health.security_headers] waivers: {item!r} needs a reason (a non-empty string)"
                )

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AuditOptions:
        """From ``[tool.prodgate.health.security_headers]``: ``hsts_min_age``, ``hsts_include_subdomains``, ``waivers``."""
        min_age = settings.get("hsts_min_age", DEFAULT_HSTS_MIN_AGE)
        return cls(
            hsts_min_age=int(parse_duration(min_age)),
            hsts_include_subdomains=bool(settings.get("hsts_include_subdomains", True)),
            waivers=dict(settings.get("waivers", {})),
        )


@dataclass(frozen=True)
class Finding:
    """One audited item: whether it passed, what was wrong, and the waiver reason if it is waived."""

    item: str
    passed: bool
    message: str
    waiver: str | None = None

    @property
    def waived(self) -> bool:
        return not self.passed and self.waiver is not None

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "passed": self.passed, "message": self.message, "waiver": self.waiver}


@dataclass(frozen=True)
class HeaderAudit:
    """Every item's finding for one response."""

    url: str
    findings: tuple[Finding, ...]

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.passed and f.waiver is None]

    @property
    def waived(self) -> list[Finding]:
        return [f for f in self.findings if f.waived]

    @property
    def missing(self) -> list[str]:
        """Names of the items missing or weak (not waived)."""
        return [f.item for f in self.problems]

    @property
    def figures(self) -> dict[str, float]:
        return {"violations": float(len(self.problems)), "waived_count": float(len(self.waived))}

    @property
    def ok(self) -> bool:
        return not self.problems

    def check(self) -> HeaderAudit:
        """Raise ``GateFailed`` naming every missing or weak item (waived ones listed with their reason)."""
        __tracebackhide__ = True
        if self.problems:
            raise GateFailed(self.describe())
        return self

    def describe(self) -> str:
        count = len(self.problems)
        head = f"{count} missing or weak: " + ", ".join(self.missing) if count else "all present"
        lines = [f"security headers of {self.url}: {head}"]
        lines += [f"  - {f.item}: {f.message}" for f in self.problems]
        if self.waived:
            lines.append("waived:")
            lines += [f"  - {f.item}: {f.message} (waived: {f.waiver})" for f in self.waived]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "findings": [f.to_dict() for f in self.findings]}


def audit_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    url: str = "",
    options: AuditOptions | None = None,
) -> HeaderAudit:
    """Audit response headers (pairs keep repeated Set-Cookie headers apart)."""
    options = options or AuditOptions()
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name.lower(), []).append(value)

    def first(name: str) -> str | None:
        found = values.get(name)
        return found[0].strip() if found else None

    raw = {
        "strict-transport-security": _hsts(first("strict-transport-security"), options),
        "content-security-policy": _csp(
            first("content-security-policy"),
            first("content-security-policy-report-only"),
            https=not url.lower().startswith("http:"),
        ),
        "x-content-type-options": _nosniff(first("x-content-type-options")),
        "frame-protection": _frames(first("x-frame-options"), first("content-security-policy")),
        "referrer-policy": _referrer(first("referrer-policy")),
        "cookies": _cookies(values.get("set-cookie", [])),
        "server-banner": _banner(values.get("server", []) + values.get("x-powered-by", [])),
    }
    findings = tuple(
        Finding(item, message is None, message or "ok", options.waivers.get(item)) for item, message in raw.items()
    )
    return HeaderAudit(url, findings)


# Each check returns None when the item passes, else what is missing or weak.


def _hsts(value: str | None, options: AuditOptions) -> str | None:
    wanted = f"max-age >= {options.hsts_min_age}" + (
        " and includeSubDomains" if options.hsts_include_subdomains else ""
    )
    if value is None:
        return f"Strict-Transport-Security is missing (wanted {wanted})"
    directives = _directives(value)
    age_text = directives.get("max-age", "")
    if not age_text.strip('"').isdigit():
        return f"Strict-Transport-Security has no valid max-age ({value!r}; wanted {wanted})"
    age = int(age_text.strip('"'))
    weak = []
    if age < options.hsts_min_age:
        weak.append(f"max-age = {age}, wanted >= {options.hsts_min_age}")
    if options.hsts_include_subdomains and "includesubdomains" not in directives:
        weak.append("includeSubDomains is missing")
    return "Strict-Transport-Security is weak: " + "; ".join(weak) if weak else None


def _directives(value: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in value.split(";"):
        name, _, arg = part.strip().partition("=")
        if name:
            found[name.strip().lower()] = arg.strip()
    return found


def _csp(value: str | None, report_only: str | None, *, https: bool) -> str | None:
    if value:
        weak = csp_weaknesses(value, https=https)
        return "Content-Security-Policy is weak: " + "; ".join(weak) if weak else None
    if report_only:
        return "Content-Security-Policy is missing (only Content-Security-Policy-Report-Only is set, which enforces nothing)"
    return "Content-Security-Policy is missing"


def _nosniff(value: str | None) -> str | None:
    if value is None:
        return "X-Content-Type-Options is missing (wanted nosniff)"
    return None if value.lower() == "nosniff" else f"X-Content-Type-Options = {value!r}, wanted 'nosniff'"


def _frames(x_frame_options: str | None, csp: str | None) -> str | None:
    if csp and any(d.strip().lower().startswith("frame-ancestors") for d in csp.split(";")):
        return None
    if x_frame_options is None:
        return (
            "X-Frame-Options is missing and Content-Security-Policy has no frame-ancestors (wanted DENY or SAMEORIGIN)"
        )
    if x_frame_options.upper() in ("DENY", "SAMEORIGIN"):
        return None
    return f"X-Frame-Options = {x_frame_options!r}, wanted DENY or SAMEORIGIN (or CSP frame-ancestors)"


def _referrer(value: str | None) -> str | None:
    if value is None:
        return "Referrer-Policy is missing (wanted e.g. strict-origin-when-cross-origin or no-referrer)"
    policies = {p.strip().lower() for p in value.split(",") if p.strip()}
    # Browsers use the last policy they understand; a weak one anywhere is worth naming.
    weak = sorted(policies & _WEAK_REFERRER)
    return f"Referrer-Policy = {value!r} leaks full URLs ({', '.join(weak)})" if weak else None


def _cookies(set_cookies: list[str]) -> str | None:
    problems = []
    for header in set_cookies:
        name = header.split("=", 1)[0].strip() or "(unnamed)"
        attributes = _directives(header.split(";", 1)[1] if ";" in header else "")
        lacking = [
            label
            for key, label in (("secure", "Secure"), ("httponly", "HttpOnly"), ("samesite", "SameSite"))
            if key not in attributes
        ]
        if lacking:
            problems.append(f"cookie {name!r} lacks {', '.join(lacking)}")
    return "; ".join(problems) if problems else None


def _banner(banners: list[str]) -> str | None:
    shown = [repr(value) for value in banners if _VERSION.search(value)]
    if not shown:
        return None
    return f"Server or X-Powered-By reveals a version: {', '.join(shown)}"
