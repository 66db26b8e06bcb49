"""Environment readiness: the variables a release needs are set, well-typed, real and strong.

Only names and reasons are ever printed: a value never reaches a message, not even a wrong one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.readiness.result import Finding, ReadinessResult, build_result
from pytest_prodgate.redact import Redactor, is_secret_name

__all__ = ["TYPES", "check_env", "parse_spec"]

TYPES = ("str", "int", "bool", "url", "dsn", "email", "secret")
BOOLEANS = frozenset({"1", "0", "true", "false", "yes", "no", "on", "off"})
URL_SCHEMES = frozenset({"http", "https"})
# Values people leave in templates; compared case-insensitively to the whole value.
PLACEHOLDER_VALUES = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "replaceme",
        "replace-me",
        "todo",
        "tbd",
        "fixme",
        "xxx",
        "xxxx",
        "placeholder",
        "secret",
        "password",
        "passw0rd",
        "default",
        "dummy",
        "test",
        "none",
        "null",
        "your-secret-key",
        "your_secret_key",
        "secretkey",
        "insecure",
    }
)
# Fragments that mark a value as a template leftover wherever they appear.
PLACEHOLDER_PARTS = ("django-insecure-", "example.com", "example.org", "example.net", "changeme", "<your", "your-")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
CHARACTER_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^A-Za-z0-9]"))


def parse_spec(name: str, spec: Any, where: str = "[tool.prodgate.readiness.env.required]") -> tuple[str, ...]:
    """A variable's type: a type name from ``TYPES`` or a list of allowed values (``one of``)."""
    if isinstance(spec, list):
        if not spec or not all(isinstance(choice, str) for choice in spec):
            raise ConfigError(f"{where} {name}: a list of allowed values must hold strings, got {spec!r}")
        return tuple(spec)
    if spec is True:
        return ("str",)
    if not isinstance(spec, str) or spec not in TYPES:
        raise ConfigError(
            f"{where} {name}: {spec!r} is not a variable type. Expected one of {', '.join(TYPES)} or a list of values"
        )
    return (spec,)


def _placeholder(value: str) -> str | None:
    lowered = value.strip().lower()
    if lowered in PLACEHOLDER_VALUES:
        return "is a placeholder"
    for part in PLACEHOLDER_PARTS:
        if part in lowered:
            return f"looks like a placeholder (contains {part!r})"
    return None


def _type_problem(kind: str, value: str) -> str | None:
    if kind == "int":
        try:
            int(value.strip())
        except ValueError:
            return "is not an integer"
    elif kind == "bool":
        if value.strip().lower() not in BOOLEANS:
            return "is not a boolean (expected true/false, 1/0, yes/no, on/off)"
    elif kind == "url":
        parts = urlsplit(value.strip())
        if parts.scheme not in URL_SCHEMES or not parts.netloc:
            return "is not an http(s) URL (expected e.g. https://host/path)"
    elif kind == "dsn":
        parts = urlsplit(value.strip())
        if not parts.scheme or not (parts.netloc or parts.path) or "://" not in value:
            return "is not a DSN (expected scheme://user@host/name)"
    elif kind == "email":
        if not EMAIL.match(value.strip()):
            return "is not an email address"
    return None


def secret_strength(value: str, *, min_length: int, min_classes: int) -> str | None:
    """Why a secret is too weak (length, character variety), or ``None``."""
    classes = sum(1 for pattern in CHARACTER_CLASSES if pattern.search(value))
    problems = []
    if len(value) < min_length:
        problems.append(f"{len(value)} characters, wanted at least {min_length}")
    if classes < min_classes:
        problems.append(f"{classes} kinds of character, wanted at least {min_classes} of lower, upper, digit, symbol")
    return "is too weak: " + "; ".join(problems) if problems else None


def check_env(
    required: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    min_secret_length: int = 32,
    min_secret_classes: int = 3,
    placeholders: Iterable[str] = (),
    thresholds: Sequence[str] = (),
    waivers: Mapping[str, str] | None = None,
    secret_names: Iterable[str] = (),
) -> ReadinessResult:
    """Check each required variable: set, not empty, of its type, not a placeholder, strong if secret.

    ``required`` maps a name to a type (``int``, ``bool``, ``url``, ``dsn``, ``email``, ``secret``,
    ``str``) or a list of allowed values. Figures: ``required``, ``missing``, ``invalid``.
    """
    environ = os.environ if environ is None else environ
    extra_placeholders = {p.lower() for p in placeholders}
    secret_set = set(secret_names)
    findings: list[Finding] = []
    missing: list[str] = []
    invalid = 0
    for name, spec in required.items():
        kinds = parse_spec(name, spec)
        value = environ.get(name)
        if value is None:
            missing.append(name)
            continue
        if not value.strip():
            findings.append(Finding("env.empty", f"{name} is set but empty"))
            invalid += 1
            continue
        problem: str | None = None
        kind = kinds[0] if len(kinds) == 1 and kinds[0] in TYPES else "choice"
        if kind == "choice":
            if value.strip() not in kinds:
                problem = f"is not one of {', '.join(kinds)}"
        else:
            problem = _type_problem(kind, value)
        finding_id = "env.type"
        if problem is None:
            reason = _placeholder(value) or (
                "is a placeholder" if value.strip().lower() in extra_placeholders else None
            )
            if reason:
                problem, finding_id = reason, "env.placeholder"
        if problem is None and (kind == "secret" or (kind == "str" and (is_secret_name(name) or name in secret_set))):
            problem = secret_strength(value, min_length=min_secret_length, min_classes=min_secret_classes)
            finding_id = "env.weak-secret"
        if problem:
            what = "choice" if kind == "choice" else kind
            findings.append(Finding(finding_id, f"{name} ({what}) {problem}"))
            invalid += 1
    if missing:
        findings.insert(0, Finding("env.missing", f"{len(missing)} required variable(s) not set: {', '.join(missing)}"))
    figures = {"required": float(len(required)), "missing": float(len(missing)), "invalid": float(invalid)}
    # Messages hold names only; secrets are masked anyway in case a future message quotes one.
    secrets = [environ[n] for n in required if environ.get(n) and (is_secret_name(n) or n in secret_set)]
    redactor = Redactor(values=secrets, env={})
    summary = f"{len(required)} required variable(s) set and valid"
    return build_result(
        "env", findings, figures, thresholds=thresholds, waivers=waivers, summary=summary, redactor=redactor
    )
