"""Server command lines and the settings audit of the serving check (gunicorn, uvicorn).

``classify_command`` tells a development server (``manage.py runserver``, ``flask run``,
``-m http.server``) from a production one (``gunicorn``, ``uvicorn``, ``nginx``...) by its command line.

Plain Python (never imports pytest). Where the server's process is on this machine, its command
line, its ``GUNICORN_CMD_ARGS``, its config file (``-c`` or ``gunicorn.conf.py`` in its folder, read
with ``ast``, never executed) and its real worker processes are looked at; otherwise a command line
given in the configuration (``command = "gunicorn -w 4 shop.wsgi"``, e.g. from a Procfile).

Findings (ids):

- ``serving.workers``: fewer workers than cores (gunicorn's rule of thumb is 2 x cores + 1), or more
  than 4 x cores + 1 (they compete for CPU and memory);
- ``serving.timeout``: gunicorn's ``timeout`` is 0 (a stuck worker is never killed) or above ``max_timeout``;
- ``serving.max_requests``: gunicorn's ``max_requests`` unset (a leaking worker is never recycled) or set
  without ``max_requests_jitter`` (every worker restarts at the same moment);
- ``serving.reload``: ``--reload`` (a development setting: it watches files and restarts);
- ``serving.root``: the workers, which run the application's code, run as root.

uvicorn has no request timeout and no jitter for ``--limit-max-requests``: those two are gunicorn
settings (run uvicorn's worker class under gunicorn to get them).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pytest_prodgate.readiness.result import Finding

__all__ = ["ServerProcess", "audit_settings", "classify_command", "parse_gunicorn", "parse_uvicorn"]

# Command names (argv[0], the script after python, or the module after -m) of production servers.
_PRODUCTION_COMMANDS = {
    "gunicorn": "gunicorn",
    "uvicorn": "uvicorn",
    "daphne": "daphne",
    "hypercorn": "hypercorn",
    "granian": "granian",
    "waitress-serve": "waitress",
    "waitress": "waitress",
    "uwsgi": "uwsgi",
    "nginx": "nginx",
    "nginx:": "nginx",
    "httpd": "apache",
    "apache2": "apache",
    "caddy": "caddy",
}


GUNICORN_DEFAULTS = {"workers": 1, "timeout": 30.0, "max_requests": 0, "max_requests_jitter": 0, "reload": False}
_GUNICORN_OPTIONS = {
    "-w": "workers",
    "--workers": "workers",
    "-t": "timeout",
    "--timeout": "timeout",
    "--max-requests": "max_requests",
    "--max-requests-jitter": "max_requests_jitter",
    "-c": "config",
    "--config": "config",
    "-u": "user",
    "--user": "user",
    "-k": "worker_class",
    "--worker-class": "worker_class",
}
_UVICORN_OPTIONS = {
    "--workers": "workers",
    "--limit-max-requests": "max_requests",
    "--timeout-keep-alive": "keep_alive",
}
_FLAGS = {"--reload": "reload"}
_HELPER = re.compile(r"multiprocessing\.(resource_tracker|semaphore_tracker|forkserver)")
_NUMBERS = {"workers", "timeout", "max_requests", "max_requests_jitter", "keep_alive"}


@dataclass
class ServerProcess:
    """A production server's main process on this machine: its command line and its workers."""

    pid: int
    server: str
    cmdline: list[str]
    cwd: str | None = None
    environ: dict[str, str] = field(default_factory=dict)
    workers: list[tuple[int, int]] = field(default_factory=list)  # (pid, effective uid)

    @classmethod
    def from_pid(cls, pid: int, server: str) -> ServerProcess:
        import psutil

        process = psutil.Process(pid)
        found = cls(pid, server, process.cmdline())
        try:
            found.cwd = process.cwd()
            found.environ = {
                k: v for k, v in process.environ().items() if k in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")
            }
        except psutil.Error:
            pass  # another user's process: the command line is still there
        children = []
        for child in process.children():
            try:
                if not _HELPER.search(" ".join(child.cmdline())):  # multiprocessing's own helpers
                    children.append((child.pid, child.uids().effective))
            except psutil.Error:
                continue
        found.workers = children or [(pid, process.uids().effective)]
        return found


def _command_name(cmdline: list[str]) -> tuple[str, list[str]]:
    """The program a command line runs (``gunicorn``, ``manage.py``, ``http.server``) and its arguments."""
    if not cmdline:
        return "", []
    first = os.path.basename(cmdline[0])
    if not re.match(r"^python[0-9.]*$", first):
        return first, cmdline[1:]
    args = cmdline[1:]
    while args and args[0].startswith("-") and args[0] not in ("-m", "-c"):
        args = args[1:]  # interpreter options (-u, -X dev...)
    if not args or args[0] == "-c":
        return first, args
    if args[0] == "-m" and len(args) > 1:
        return args[1], args[2:]
    return os.path.basename(args[0]), args[1:]


def classify_command(cmdline: list[str]) -> tuple[str, str] | None:
    """``("development" | "production", server name)`` for a process's command line, else None."""
    name, args = _command_name(cmdline)
    if name in ("manage.py", "django-admin", "django-admin.py", "django") and "runserver" in args:
        return "development", "Django's runserver"
    if name == "flask" and "run" in args:
        return "development", "flask run (Werkzeug's development server)"
    if name in ("http.server", "SimpleHTTPServer"):
        return "development", "python -m http.server"
    if name in _PRODUCTION_COMMANDS:
        return "production", _PRODUCTION_COMMANDS[name]
    return None


def _parse(args: Iterable[str], options: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    items = list(args)
    index = 0
    while index < len(items):
        arg = items[index]
        name, eq, inline = arg.partition("=")
        key = options.get(name)
        if key is None and name.startswith("-") and not name.startswith("--") and len(name) > 2:
            key, inline, eq = options.get(name[:2]), name[2:], "="  # -w4
        if key is not None:
            value = inline if eq else (items[index + 1] if index + 1 < len(items) else "")
            index += 1 if eq else 2
            found[key] = _number(value) if key in _NUMBERS else value
            continue
        if arg in _FLAGS:
            found[_FLAGS[arg]] = True
        index += 1
    return found


def _number(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def parse_gunicorn(args: Iterable[str]) -> dict[str, Any]:
    """gunicorn's settings from its arguments: ``workers``, ``timeout``, ``max_requests``... (as given)."""
    return _parse(args, _GUNICORN_OPTIONS)


def parse_uvicorn(args: Iterable[str]) -> dict[str, Any]:
    """uvicorn's settings from its arguments: ``workers``, ``max_requests``, ``reload``."""
    return _parse(args, _UVICORN_OPTIONS)


def read_gunicorn_config(path: str) -> tuple[dict[str, Any], list[str]]:
    """Literal top-level assignments of a gunicorn config file (never executed); notes on computed ones."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
    except (OSError, SyntaxError) as exc:
        return {}, [f"gunicorn config {path} could not be read: {exc}"]
    found: dict[str, Any] = {}
    notes = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name not in ("workers", "timeout", "max_requests", "max_requests_jitter", "reload", "user"):
                continue
            try:
                found[name] = ast.literal_eval(node.value)
            except ValueError:
                notes.append(f"{name} in {path} is computed ({ast.unparse(node.value)}): not judged")
    return found, notes


def _settings_of(
    server: str, cmdline: list[str], cwd: str | None, environ: dict[str, str]
) -> tuple[dict[str, Any], list[str]]:
    _, args = _command_name(cmdline)
    if server == "uvicorn":
        settings: dict[str, Any] = {"workers": float(environ.get("WEB_CONCURRENCY", 1))}
        settings.update(parse_uvicorn(args))
        return settings, []
    given = parse_gunicorn(args)
    from_env = parse_gunicorn(shlex.split(environ.get("GUNICORN_CMD_ARGS", "")))
    config = given.get("config") or from_env.get("config")
    notes: list[str] = []
    from_file: dict[str, Any] = {}
    path = str(config) if config else (os.path.join(cwd, "gunicorn.conf.py") if cwd else "")
    if path and (config or os.path.exists(path)):
        path = path if os.path.isabs(path) or not cwd else os.path.join(cwd, path.removeprefix("python:"))
        from_file, notes = read_gunicorn_config(path)
    # gunicorn's own precedence: defaults < config file < GUNICORN_CMD_ARGS < command line
    return {**GUNICORN_DEFAULTS, **from_file, **from_env, **given}, notes


def audit_settings(
    processes: list[ServerProcess],
    *,
    cores: int | None = None,
    max_timeout: float = 120.0,
    command: str | None = None,
    config_file: str | None = None,
) -> tuple[list[Finding], dict[str, float], list[str]]:
    """Findings, figures and notes for each gunicorn/uvicorn seen (a local process, else ``command``)."""
    import psutil

    if cores is None and processes:
        try:  # the cores the server may run on (its CPU affinity), not the machine's
            cores = len(psutil.Process(processes[0].pid).cpu_affinity() or []) or None
        except (psutil.Error, AttributeError):  # macOS has no cpu_affinity
            cores = None
    cores = cores or psutil.cpu_count() or 1
    findings: list[Finding] = []
    figures: dict[str, float] = {"cores": float(cores)}
    notes: list[str] = []
    targets: list[tuple[str, list[str], str | None, dict[str, str], list[tuple[int, int]] | None]] = [
        (p.server, p.cmdline, p.cwd, p.environ, p.workers) for p in processes if p.server in ("gunicorn", "uvicorn")
    ]
    if not targets and command:
        cmdline = shlex.split(command)
        kind = classify_command(cmdline)
        if kind and kind[1] in ("gunicorn", "uvicorn"):
            targets.append((kind[1], cmdline, os.path.dirname(config_file) if config_file else None, {}, None))
        elif kind and kind[0] == "development":
            findings.append(Finding("serving.development", f"the configured command runs {kind[1]}: {command}"))
    for server, cmdline, cwd, environ, workers in targets:
        settings, file_notes = _settings_of(server, cmdline, cwd, environ)
        if config_file and server == "gunicorn" and not settings.get("config"):
            from_file, file_notes = read_gunicorn_config(config_file)
            settings = {**settings, **{k: v for k, v in from_file.items() if k not in parse_gunicorn(cmdline)}}
        notes += file_notes
        count = len(workers) if workers is not None else int(settings.get("workers") or 1)
        figures["workers"] = float(count)
        source = "running" if workers is not None else "configured"
        if count < cores:
            findings.append(
                Finding(
                    "serving.workers",
                    f"{server} has {count} {source} worker(s) on {cores} cores: wanted at least {cores} "
                    f"(gunicorn's rule of thumb: 2 x cores + 1 = {2 * cores + 1})",
                )
            )
        elif count > 4 * cores + 1:
            findings.append(
                Finding(
                    "serving.workers",
                    f"{server} has {count} {source} workers on {cores} cores: wanted at most 4 x cores + 1 = "
                    f"{4 * cores + 1} (more compete for CPU and memory)",
                )
            )
        if settings.get("reload"):
            findings.append(Finding("serving.reload", f"{server} runs with --reload, a development setting"))
        if server == "gunicorn":
            findings += _gunicorn_findings(settings, max_timeout, figures)
        if workers is not None:
            root = sorted(pid for pid, uid in workers if uid == 0)
            if root:
                shown = ", ".join(map(str, root))
                findings.append(
                    Finding(
                        "serving.root",
                        f"{server}'s workers run as root (pid {shown}): wanted an unprivileged user "
                        "(gunicorn --user, or start the server as that user)",
                    )
                )
        notes.append(f"{server} ({source}): {count} worker(s) on {cores} cores, " + _shown(settings, server))
    return findings, figures, notes


def _gunicorn_findings(settings: dict[str, Any], max_timeout: float, figures: dict[str, float]) -> list[Finding]:
    findings = []
    timeout = float(settings.get("timeout") or 0)
    max_requests = int(float(settings.get("max_requests") or 0))
    jitter = int(float(settings.get("max_requests_jitter") or 0))
    figures.update({"timeout": timeout, "max_requests": float(max_requests), "max_requests_jitter": float(jitter)})
    if timeout <= 0:
        findings.append(Finding("serving.timeout", "gunicorn timeout is 0: a stuck worker is never killed"))
    elif timeout > max_timeout:
        findings.append(Finding("serving.timeout", f"gunicorn timeout is {timeout:g} s, wanted <= {max_timeout:g} s"))
    if max_requests <= 0:
        findings.append(
            Finding(
                "serving.max_requests",
                "gunicorn max_requests is not set: a worker that leaks memory is never recycled "
                "(wanted e.g. --max-requests 1000 --max-requests-jitter 100)",
            )
        )
    elif jitter <= 0:
        findings.append(
            Finding(
                "serving.max_requests",
                f"gunicorn max_requests is {max_requests} without max_requests_jitter: every worker restarts at "
                "the same moment (wanted e.g. --max-requests-jitter "
                f"{max(1, max_requests // 10)})",
            )
        )
    return findings


def _shown(settings: dict[str, Any], server: str) -> str:
    if server == "uvicorn":
        return f"reload {bool(settings.get('reload'))}"
    return (
        f"timeout {float(settings.get('timeout') or 0):g} s, max_requests {int(float(settings.get('max_requests') or 0))} "
        f"with jitter {int(float(settings.get('max_requests_jitter') or 0))}"
    )
