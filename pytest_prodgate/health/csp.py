"""How strong a Content-Security-Policy is: each weakness named, for the header audit.

Plain Python (never imports pytest). ``csp_weaknesses(policy, https=...)`` returns one phrase per
weakness, in this order:

- **wildcard sources**: ``*`` in any directive but the passive ones (``img-src``, ``media-src``,
  ``font-src``), and the scheme-only ``http:``, ``https:`` and ``data:`` where scripts or plugins come
  from (``script-src``, or ``default-src`` when it stands in for it, and ``object-src``): each lets any
  host serve them;
- ``'unsafe-inline'`` for scripts without a nonce (``'nonce-...'``) or hash (``'sha256-...'``): with one,
  browsers ignore ``'unsafe-inline'``, without one any injected ``<script>`` runs;
- ``'unsafe-eval'`` for scripts (nonces and hashes do not restrict ``eval``, so it is always named);
- a missing ``default-src``, ``object-src`` (unless ``default-src 'none'`` covers it), ``base-uri`` or
  ``frame-ancestors`` (these two never fall back to ``default-src``);
- ``http:`` sources on an https site (mixed content an attacker on the network can replace).

Directive names are case-insensitive; a repeated directive is ignored after its first occurrence,
as browsers do.
"""

from __future__ import annotations

__all__ = ["REQUIRED_DIRECTIVES", "csp_weaknesses", "parse_policy"]

REQUIRED_DIRECTIVES = ("default-src", "object-src", "base-uri", "frame-ancestors")
_PASSIVE = ("img-src", "media-src", "font-src")
_SCHEME_WILDCARDS = ("http:", "https:", "data:")
_HASH_OR_NONCE = ("'nonce-", "'sha256-", "'sha384-", "'sha512-")


def parse_policy(policy: str) -> dict[str, list[str]]:
    """``"default-src 'self'; img-src *"`` -> ``{"default-src": ["'self'"], "img-src": ["*"]}``."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        tokens = part.split()
        if tokens and tokens[0].lower() not in directives:
            directives[tokens[0].lower()] = tokens[1:]
    return directives


def csp_weaknesses(policy: str, *, https: bool = True) -> list[str]:
    """Every weakness of ``policy``, one phrase each (empty when it is strong)."""
    directives = parse_policy(policy)
    weak: list[str] = []
    script_name = "script-src" if "script-src" in directives else "default-src"
    scripts = [token.lower() for token in directives.get(script_name, [])]
    via = "" if script_name == "script-src" else " (default-src stands in for script-src)"

    for name, sources in directives.items():
        if name in _PASSIVE:
            continue
        if "*" in sources:
            weak.append(f"{name} allows any origin ('*')")
    for name in dict.fromkeys((script_name, "object-src")):
        schemes = [s for s in directives.get(name, []) if s.lower() in _SCHEME_WILDCARDS]
        if schemes:
            weak.append(f"{name} allows any host of {', '.join(schemes)}")

    if "'unsafe-inline'" in scripts and not any(s.startswith(_HASH_OR_NONCE) for s in scripts):
        weak.append(f"{script_name} allows 'unsafe-inline' without a nonce or hash{via}")
    if "'unsafe-eval'" in scripts:
        weak.append(f"{script_name} allows 'unsafe-eval' (eval of strings; nonces and hashes do not limit it){via}")

    for name in REQUIRED_DIRECTIVES:
        if name in directives:
            continue
        if name == "object-src" and [s.lower() for s in directives.get("default-src", [])] == ["'none'"]:
            continue
        why = {
            "default-src": "every fetch directive not named is unrestricted",
            "object-src": "plugins (<object>, <embed>) may load from anywhere default-src allows; wanted 'none'",
            "base-uri": "an injected <base> can redirect relative script URLs",
            "frame-ancestors": "any site may frame this one (clickjacking)",
        }[name]
        weak.append(f"{name} is missing ({why})")

    if https:
        for name, sources in directives.items():
            plain = [s for s in sources if s.lower().startswith("http:")]
            if plain:
                weak.append(f"{name} allows plain http sources on an https site ({', '.join(plain)})")
    return weak
