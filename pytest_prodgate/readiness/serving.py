"""The serving-stack check: the target is served by a production server, not a development one.

Plain Python (never imports pytest). ``check_serving(url)`` looks in two places:

- **the response**: ``Server`` (and ``X-Powered-By``, ``Via``) name the server: ``WSGIServer/0.2``
  (Django's ``runserver``, ``wsgiref``), ``Werkzeug/3.0`` (Flask's dev server), ``SimpleHTTP/0.6``
  (``python -m http.server``) are development servers; ``gunicorn``, ``uvicorn``, ``daphne``,
  ``hypercorn``, ``nginx``... are production ones;
- **the process tree**, where the port is on this machine: the process listening on it (psutil) and
  its parents, by command line (``manage.py runserver``, ``flask run``, ``-m http.server``, ``gunicorn``,
  ``uvicorn``...). A server found there gets its settings audited (``serving_settings.py``).

Any sign of a development server fails the check (``serving.development``), naming what was seen.
With no sign of either kind the check cannot tell: an error (``unknown = "pass"`` accepts it).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pytest_prodgate.readiness.result import Finding, ReadinessResult, build_result
from pytest_prodgate.readiness.serving_settings import ServerProcess, audit_settings, classify_command

__all__ = ["DEVELOPMENT", "PRODUCTION", "ServingEvidence", "check_serving", "classify_header"]

# (pattern on a Server / X-Powered-By / Via value, what it is)
DEVELOPMENT = (
    (re.compile(r"^WSGIServer/", re.I), "Django's runserver / wsgiref (a development server)"),
    (re.compile(r"^Werkzeug/", re.I), "Werkzeug's development server (flask run, app.run())"),
    (re.compile(r"^SimpleHTTP/", re.I), "python -m http.server (a development server)"),
    (re.compile(r"^BaseHTTP/", re.I), "http.server's BaseHTTPRequestHandler (a development server)"),
)
PRODUCTION = (
    "gunicorn",
    "uvicorn",
    "daphne",
    "hypercorn",
    "granian",
    "waitress",
    "uwsgi",
    "nginx",
    "openresty",
    "apache",
    "caddy",
    "envoy",
    "h2o",
    "lighttpd",
    "microsoft-iis",
    "cloudflare",
    "cloudfront",
    "awselb",
    "varnish",
    "gws",
)


@dataclass
class ServingEvidence:
    """What was seen: development and production signs, each a phrase naming where it was seen."""

    development: list[str] = field(default_factory=list)
    production: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    processes: list[ServerProcess] = field(default_factory=list)


def classify_header(name: str, value: str) -> tuple[str, str] | None:
    """``("development" | "production", phrase)`` for a Server-like header, else None."""
    for pattern, what in DEVELOPMENT:
        if pattern.search(value.strip()):
            return "development", f"{name}: {value} is {what}"
    words = re.findall(r"[a-z][a-z0-9-]*", value.lower())
    for word in words:
        if word in PRODUCTION:
            return "production", f"{name}: {value}"
    return None


def _is_local(host: str) -> bool:
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    import psutil

    own = {a.address.split("%")[0] for nics in psutil.net_if_addrs().values() for a in nics}
    return any(ipaddress.ip_address(a.split("%")[0]).is_loopback or a in own for a in addresses)


def _listening_pids(port: int) -> tuple[set[int], bool]:
    """Pids listening on ``port`` (and whether some listener's pid was hidden from us)."""
    import psutil

    pids: set[int] = set()
    hidden = False
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                hidden = True
            else:
                pids.add(conn.pid)
    return pids, hidden


def _server_processes(port: int, evidence: ServingEvidence) -> None:
    """The topmost process of each listener's chain of parents that names a server, with its workers."""
    import psutil

    try:
        pids, hidden = _listening_pids(port)
    except psutil.Error as exc:  # macOS asks for root to list every socket
        evidence.notes.append(f"the listeners of port {port} could not be listed: {type(exc).__name__}")
        return
    if not pids:
        why = "its owner is hidden from this user" if hidden else "no listener found"
        evidence.notes.append(f"port {port} is on this machine but its process could not be seen ({why})")
        return
    masters: dict[int, tuple[str, str, list[str]]] = {}
    for pid in sorted(pids):
        try:
            chain = [psutil.Process(pid), *psutil.Process(pid).parents()]
        except psutil.Error:
            continue
        found = None
        for process in chain:
            try:
                cmdline = process.cmdline()
            except psutil.Error:
                break
            kind = classify_command(cmdline)
            if kind is None:
                if found is not None:
                    break  # above the server: the shell, the supervisor, the test runner
                continue
            found = (process.pid, kind, cmdline)
        if found is not None:
            masters[found[0]] = (found[1][0], found[1][1], found[2])
        else:
            try:
                shown = " ".join(psutil.Process(pid).cmdline()) or psutil.Process(pid).name()
            except psutil.Error:
                shown = "?"
            evidence.notes.append(f"process {pid} listens on port {port}: {shown} (not a server this check knows)")
    for pid, (sort, server, cmdline) in sorted(masters.items()):
        phrase = f"process {pid} listening on port {port}: {' '.join(cmdline)}"
        (evidence.development if sort == "development" else evidence.production).append(f"{phrase} ({server})")
        if sort == "production":
            evidence.processes.append(ServerProcess.from_pid(pid, server))


def gather(url: str, *, timeout: float = 5.0, local: bool | None = None) -> ServingEvidence:
    """Fetch ``url`` and, when its port is on this machine, look at the process listening on it.

    Raises ``OSError`` (or an ``httpx.HTTPError``) when the target does not answer.
    """
    import httpx

    evidence = ServingEvidence()
    response = httpx.get(url, timeout=timeout, follow_redirects=False, verify=False)
    for name in ("Server", "X-Powered-By", "Via"):
        for value in response.headers.get_list(name):
            kind = classify_header(name, value)
            if kind is not None:
                (evidence.development if kind[0] == "development" else evidence.production).append(kind[1])
    if response.http_version == "HTTP/1.0":
        evidence.notes.append("the response is HTTP/1.0, as http.server and wsgiref answer")
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if local if local is not None else _is_local(parts.hostname or ""):
        _server_processes(port, evidence)
    else:
        evidence.notes.append(f"{parts.hostname} is not this machine: the process tree was not looked at")
    return evidence


def check_serving(
    url: str,
    *,
    timeout: float = 5.0,
    unknown: str = "error",
    cores: int | None = None,
    max_timeout: float = 120.0,
    command: str | None = None,
    config_file: str | None = None,
    waivers: dict[str, str] | None = None,
) -> ReadinessResult:
    """Judge the serving stack of ``url``: findings ``serving.development`` and the settings audit's."""
    if not url:
        return build_result(
            "serving",
            [],
            error="Tried to find the target's URL: none given. Likely fix: pass --base-url, or set "
            "[tool.prodgate.readiness.serving] url.",
        )
    try:
        evidence = gather(url, timeout=timeout)
    except Exception as exc:  # httpx and socket errors alike: the reason is the message
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return build_result(
            "serving",
            [],
            error=f"Requested {url} (timeout {timeout:g} s): {type(exc).__name__}: {reason}. Likely fix: start "
            "the target or correct the URL; the serving check needs one answer to see its server.",
        )
    findings = [
        Finding("serving.development", f"served by a development server: {seen}") for seen in evidence.development
    ]
    settings_findings, figures, seen_settings = audit_settings(
        evidence.processes, cores=cores, max_timeout=max_timeout, command=command, config_file=config_file
    )
    findings += settings_findings
    figures["development_signs"] = float(len(evidence.development))
    figures["production_signs"] = float(len(evidence.production))
    if not evidence.development and not evidence.production and not seen_settings and unknown != "pass":
        tried = "; ".join(evidence.notes) or "no note"
        return build_result(
            "serving",
            [],
            figures,
            error=f"Requested {url} and looked for its server: no Server header names one ({tried}). Likely fix: "
            "run the gate on the machine that serves the port, or let the server send its name "
            '(gunicorn and uvicorn do by default), or set [tool.prodgate.readiness.serving] unknown = "pass".',
            waivers=waivers,
        )
    shown = evidence.production[0] if evidence.production else "no development server seen"
    return build_result(
        "serving",
        findings,
        figures,
        waivers=waivers,
        summary=f"{shown}",
        notes=[*evidence.notes, *seen_settings],
    )
