"""prodgate load against its peers (wrk, hey, Locust), plus accuracy, honesty and memory checks.

Run by hand (never in the test suite), as root on an otherwise quiet machine if you can:

    apt-get install -y nginx wrk hey && pip install locust
    python benchmarks/load_peers.py                 # everything: about 15 minutes
    python benchmarks/load_peers.py --rounds 3 --duration 10 --memory 100000,1000000 --json out.json

Each target (nginx serving a small static page with one worker; a uvicorn app answering ``ok``) is
hit by every tool in turn, interleaved (wrk, hey, locust, prodgate, wrk, hey...), 50 connections
for ``--duration`` seconds per run, and the medians of ``--rounds`` rounds are printed side by side
with their ratios to wrk. A generator's CPU is that of its whole process tree (``wait4``'s rusage,
which includes every process it started and reaped), as a share of one core over the run's length:
near 100% a tool measures itself, not the server. Everything listens on 127.0.0.1 and every run
has a hard time limit.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# With --pin: the target on the last CPU, the generator on the first (``taskset``), or nothing.
PIN: dict[str, list[str]] = {"server": [], "generator": []}
PAGE = b"<!doctype html><title>ok</title><p>hello</p>\n"  # 45 bytes


@dataclass
class Run:
    tool: str
    target: str
    rps: float
    p50: float  # seconds
    p99: float  # seconds
    cpu: float  # share of one core over the run
    maxrss: int  # bytes, the largest process of the tree
    wall: float
    load: float  # 1-minute load average at the end of the run
    extra: dict[str, Any] = field(default_factory=dict)


# ---- targets --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def nginx(keepalive: bool = True) -> Iterator[str]:
    """nginx with one worker serving a 45-byte page, config and pid in a temporary directory.

    ``keepalive=False`` closes every connection after its response (a new connection per request)."""
    root = Path(tempfile.mkdtemp(prefix="prodgate-nginx-"))
    (root / "www").mkdir()
    (root / "www" / "index.html").write_bytes(PAGE)
    port = free_port()
    temp = "".join(
        f"    {kind}_temp_path {root}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (root / "nginx.conf").write_text(
        f"user root;\nworker_processes 1;\ndaemon off;\npid {root}/nginx.pid;\nerror_log {root}/error.log warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{\n    access_log off;\n{temp}    {'keepalive_requests 1000000' if keepalive else 'keepalive_timeout 0'};\n"
        f"    server {{\n        listen 127.0.0.1:{port};\n        root {root}/www;\n    }}\n}}\n"
    )
    process = subprocess.Popen([*PIN["server"], "nginx", "-p", str(root), "-c", str(root / "nginx.conf")])
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(process)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def uvicorn(app: str = "benchmarks.targets:app", path: str = "/") -> Iterator[str]:
    """One uvicorn process (httptools, uvloop, no access log) serving an app of ``benchmarks/targets.py``."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen([*PIN["server"], *command], cwd=ROOT)
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        stop(process)


# ---- running a generator ------------------------------------------------------------------------


def measured(command: list[str], limit: float, cwd: Path | None = None) -> tuple[str, float, int, float]:
    """Run ``command``; its output, CPU seconds of its process tree, peak RSS (bytes) and wall time."""
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > limit:
                process.kill()
            time.sleep(0.05)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return text, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, wall


def _seconds(number: str, unit: str) -> float:
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def parse_wrk(text: str) -> tuple[float, float, float]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    found = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", text, re.M))
    p50, p99 = (_seconds(*re.fullmatch(r"([\d.]+)(us|ms|s|m)", found[q]).groups()) for q in ("50", "99"))  # type: ignore[union-attr]
    return rps, p50, p99


def parse_hey(text: str) -> tuple[float, float, float]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    found = dict(re.findall(r"^\s+(50|99)%+ in ([\d.]+) secs", text, re.M))
    return rps, float(found["50"]), float(found["99"])


def parse_locust(prefix: str) -> tuple[float, float, float]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    return float(row["Requests/s"]), float(row["50%"]) / 1000, float(row["99%"]) / 1000


LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Visitor(FastHttpUser):
    wait_time = constant(0)

    @task
    def page(self):
        self.client.get(PATH)
"""


def tool_command(tool: str, url: str, users: int, duration: float, work: Path) -> list[str]:
    if tool == "wrk":
        return ["wrk", "-t1", f"-c{users}", f"-d{duration:g}s", "--latency", url]
    if tool == "hey":
        return ["hey", "-z", f"{duration:g}s", "-c", str(users), url]
    if tool == "locust":
        host, _, path = url.partition("://")[2].partition("/")
        (work / "locustfile.py").write_text(f"PATH = {'/' + path!r}\n" + LOCUSTFILE)
        return [str(BIN / "locust"), "-f", str(work / "locustfile.py"), "--headless", "--users", str(users),
                "--spawn-rate", str(users), "-t", f"{duration:g}s", "--csv", str(work / "locust"),
                "--host", f"http://{host}", "--only-summary", "--loglevel", "WARNING"]  # fmt: skip
    if tool == "prodgate":
        workload = ["--users", str(users)] if users > 0 else []  # 0: the open model's --rate comes in extra
        return [sys.executable, "-m", "pytest_prodgate", "load", url, *workload,
                "--duration", f"{duration:g}s", "-q", "--json", str(work / "prodgate.json")]  # fmt: skip
    raise ValueError(tool)


def run_tool(tool: str, target: str, url: str, users: int, duration: float, extra: list[str] | None = None) -> Run:
    """One run of one generator against ``url``; its figures, CPU and memory."""
    with tempfile.TemporaryDirectory(prefix="prodgate-peers-") as tmp:
        work = Path(tmp)
        command = [*PIN["generator"], *tool_command(tool, url, users, duration, work), *(extra or [])]
        text, cpu, maxrss, wall = measured(command, limit=duration + 60, cwd=ROOT)
        details: dict[str, Any] = {}
        try:
            if tool == "wrk":
                rps, p50, p99 = parse_wrk(text)
            elif tool == "hey":
                rps, p50, p99 = parse_hey(text)
            elif tool == "locust":
                rps, p50, p99 = parse_locust(str(work / "locust"))
            else:
                data = json.loads((work / "prodgate.json").read_text())
                figures = data["figures"]
                rps, p50, p99 = figures["rps"], figures["p50"], figures["p99"]
                details = {k: figures.get(k) for k in ("requests", "errors", "dropped", "generator_cpu", "max")}
        except (AttributeError, KeyError, StopIteration, OSError, ValueError) as exc:
            raise RuntimeError(f"{tool} gave no figures ({exc!r}); its output:\n{text[-2000:]}") from None
    return Run(tool, target, rps, p50, p99, cpu / duration, maxrss, wall, os.getloadavg()[0], details)


# ---- the checks ---------------------------------------------------------------------------------


def interleaved(
    tools: list[str], target: str, url: str, rounds: int, users: int, duration: float, extra: dict[str, list[str]]
) -> list[Run]:
    """Every tool once per round, in turn (A B C D A B C D ...), so drifting load hits them alike."""
    runs = []
    for round_no in range(1, rounds + 1):
        for tool in tools:
            run = run_tool(tool, target, url, users, duration, extra.get(tool))
            runs.append(run)
            print(
                f"  round {round_no} {tool:<9} {target:<8} {run.rps:>10,.0f} rps  p50 {ms(run.p50)}  p99 {ms(run.p99)}"
                f"  cpu {run.cpu:4.0%}  load {run.load:.2f}",
                flush=True,
            )
    return runs


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def medians(runs: list[Run], tool: str, target: str) -> dict[str, float]:
    mine = [r for r in runs if r.tool == tool and r.target == target]
    return {key: statistics.median(getattr(r, key) for r in mine) for key in ("rps", "p50", "p99", "cpu")}


def side_by_side(runs: list[Run], tools: list[str], target: str) -> list[str]:
    wrk = medians(runs, "wrk", target) if "wrk" in tools else None
    lines = [
        f"| {target}: tool | rps (median) | x wrk | p50 | p99 | generator CPU | CPU µs/request |",
        "|---|---|---|---|---|---|---|",
    ]
    for tool in tools:
        m = medians(runs, tool, target)
        ratio = f"{m['rps'] / wrk['rps']:.2f}" if wrk else "-"
        per_request = m["cpu"] / m["rps"] * 1e6 if m["rps"] else float("nan")  # cpu: share of one core
        lines.append(
            f"| {tool} | {m['rps']:,.0f} | {ratio} | {m['p50'] * 1000:.2f} ms | {m['p99'] * 1000:.2f} ms"
            f" | {m['cpu']:.0%} | {per_request:.1f} |"
        )
    if wrk:  # the ratio per round too: rounds run back to back, so each pair saw the same machine
        mine = [r for r in runs if r.tool == "prodgate" and r.target == target]
        theirs = [r for r in runs if r.tool == "wrk" and r.target == target]
        pairs = [a.rps / b.rps for a, b in zip(mine, theirs, strict=True) if b.rps]
        if pairs:
            lines.append(
                f"prodgate / wrk per round: {', '.join(f'{p:.2f}' for p in pairs)} (median {statistics.median(pairs):.2f})"
            )
    return lines


def accuracy(rounds: int) -> list[str]:
    """p50 on a fixed 50 ms delay: prodgate against wrk, 10 connections, 5 s runs, interleaved."""
    with uvicorn(path="/delay") as url:
        runs = interleaved(["wrk", "prodgate"], "delay", url, rounds, 10, 5.0, {})
    wrk, mine = medians(runs, "wrk", "delay"), medians(runs, "prodgate", "delay")
    return [
        f"- Fixed 50 ms delay (uvicorn, 10 connections, 5 s, {rounds} rounds): p50 wrk {wrk['p50'] * 1000:.2f} ms, "
        f"prodgate {mine['p50'] * 1000:.2f} ms (difference {(mine['p50'] - wrk['p50']) * 1000:+.2f} ms)"
    ]


def honesty(rounds: int) -> list[str]:
    """Open model at 200/s against a server that stalls 1 s every 5 s; closed models beside it."""
    extra = {"prodgate": ["--rate", "200"]}
    with uvicorn(app="benchmarks.targets:stalling_app") as url:
        runs = []
        for _ in range(rounds):
            runs.append(run_tool("prodgate", "open", url, 0, 10.0, extra["prodgate"]))
            runs.append(run_tool("wrk", "closed", url, 10, 10.0))
            if shutil.which("hey"):
                runs.append(run_tool("hey", "closed", url, 10, 10.0))
            runs.append(run_tool("prodgate", "closed", url, 10, 10.0))
    opened = [r for r in runs if r.tool == "prodgate" and r.target == "open"]
    closed_wrk = [r for r in runs if r.tool == "wrk"]
    closed_mine = [r for r in runs if r.tool == "prodgate" and r.target == "closed"]
    closed_hey = [r for r in runs if r.tool == "hey"]
    return [
        f"- Stall 1 s every 5 s, 10 s runs, {rounds} rounds: prodgate open model at 200/s p99 "
        + " / ".join(f"{r.p99 * 1000:.0f}" for r in opened)
        + " ms (requests "
        + " / ".join(str(r.extra.get("requests")) for r in opened)
        + ", dropped "
        + " / ".join(str(r.extra.get("dropped")) for r in opened)
        + "); closed models on the same server, 10 connections: wrk p99 "
        + " / ".join(f"{r.p99 * 1000:.1f}" for r in closed_wrk)
        + " ms (wrk 4 corrects its closed-model latencies from the mean request interval), hey p99 "
        + (" / ".join(f"{r.p99 * 1000:.1f}" for r in closed_hey) or "-")
        + " ms, prodgate --users 10 p99 "
        + " / ".join(f"{r.p99 * 1000:.1f}" for r in closed_mine)
        + " ms"
    ]


def memory(counts: list[int]) -> list[str]:
    """Peak RSS of prodgate for runs of N requests (closed model, 50 users, against nginx)."""
    lines = []
    with nginx() as url:
        for count in counts:
            command = [sys.executable, "-m", "pytest_prodgate", "load", url, "--users", "50", "--iterations",
                       str(count), "--duration", "3600s", "--timeout", "5s", "-q"]  # fmt: skip
            text, cpu, maxrss, wall = measured(command, limit=4000, cwd=ROOT)
            match = re.search(r"requests\s+([\d,]+)", text)
            lines.append(
                f"- {count:,} requests: peak RSS {maxrss / 1024**2:.1f} MB, {wall:.0f} s "
                f"({count / wall:,.0f} requests/s incl. start), load {os.getloadavg()[0]:.2f}"
                + (f", requests counted {match.group(1)}" if match else "")
            )
            print(lines[-1], flush=True)
    return lines


def machine() -> list[str]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    versions = []
    for name, command in [
        ("nginx", ["nginx", "-v"]),
        ("wrk", ["wrk", "-v"]),
        ("locust", [str(BIN / "locust"), "--version"]),
    ]:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
            versions.append(" ".join((done.stdout + done.stderr).split()[:3]))
        except (OSError, IndexError, subprocess.TimeoutExpired):
            versions.append(f"{name}: missing")
    return [
        f"- {os.cpu_count()} CPUs ({model}), Linux {platform.release()}, Python {platform.python_version()}",
        "- " + "; ".join(versions),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3, help="Interleaved rounds per tool (medians)")
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per run")
    parser.add_argument("--users", type=int, default=50, help="Connections / virtual users")
    parser.add_argument("--targets", default="nginx,uvicorn", help="Targets to compare on")
    parser.add_argument("--tools", default="wrk,hey,locust,prodgate", help="Generators to compare")
    parser.add_argument(
        "--memory", default="100000,1000000,10000000", help="Request counts for the RSS check ('' skips)"
    )
    parser.add_argument("--skip-checks", action="store_true", help="Only the side-by-side comparison")
    parser.add_argument("--pin", action="store_true", help="Pin the target to the last CPU, generators to the first")
    parser.add_argument("--json", help="Write every run to this file")
    args = parser.parse_args(argv)

    tools = [t for t in args.tools.split(",") if t]
    if args.pin:
        last = (os.cpu_count() or 1) - 1
        PIN.update(server=["taskset", "-c", str(last)], generator=["taskset", "-c", "0"])
    missing = [t for t in tools if t in ("wrk", "hey") and shutil.which(t) is None]
    if "locust" in tools and not (BIN / "locust").exists():
        missing.append("locust")
    for tool in missing:
        print(f"note: {tool} is not installed; skipped (apt-get install -y {tool} / pip install locust)")
    tools = [t for t in tools if t not in missing]
    report = ["Machine:", *machine(), f"- load average at start {os.getloadavg()[0]:.2f}"]
    report += [
        f"- generator and target pinned: {PIN['generator'][2:]} / {PIN['server'][2:]}" if args.pin else "- unpinned",
        "",
    ]
    print("\n".join(report), flush=True)
    runs: list[Run] = []
    starts: dict[str, Callable[[], Any]] = {"nginx": nginx, "uvicorn": uvicorn}
    for target in [t for t in args.targets.split(",") if t]:
        with starts[target]() as url:
            print(f"{target} at {url}", flush=True)
            runs += interleaved(tools, target, url, args.rounds, args.users, args.duration, {})
        report += side_by_side(runs, tools, target) + [""]
    if runs:
        loads = [r.load for r in runs]
        report.append(f"Load average (1 min) during the runs: {min(loads):.2f} to {max(loads):.2f}")
    if not args.skip_checks:
        report += ["", "Accuracy and honesty:", *accuracy(args.rounds), *honesty(args.rounds)]
    counts = [int(c) for c in args.memory.split(",") if c]
    if counts:
        report += ["", "Memory of prodgate (50 users against nginx):", *memory(counts)]
    print("\n" + "\n".join(report))
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": [asdict(r) for r in runs], "report": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
