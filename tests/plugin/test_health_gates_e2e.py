"""End to end: gates/ -m health against the embedded demo service, healthy, not-ready, no-security-headers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_health_gates(faults: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODGATE_", "PYTEST_"))}
    if faults:
        env["PRODGATE_DEMO_FAULTS"] = faults
    return subprocess.run(
        [sys.executable, "-m", "pytest", "gates", "-m", "health", "-p", "no:cacheprovider", "-p", "no:randomly", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _row(stdout: str, gate: str) -> str:
    match = re.search(rf"^(?:health)? +{re.escape(gate)} +(\w+)", stdout, re.M)
    assert match, f"no row for {gate}:\n{stdout}"
    return match.group(1)


def test_health_gates_pass_when_the_demo_is_healthy() -> None:
    done = run_health_gates()
    assert done.returncode == 0, done.stdout + done.stderr
    for gate in (
        "test_liveness_answers_quickly",
        "test_readiness_accepts_traffic",
        "test_detailed_health_reports_each_dependency",
        "test_security_headers_on_the_home_page",
        "ready[GET /health/ready]",
        "headers[GET /]",
    ):
        assert _row(done.stdout, gate) == "PASS"


def test_readiness_gates_fail_with_the_503_and_the_attempts_when_not_ready() -> None:
    done = run_health_gates("not-ready")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert _row(out, "test_readiness_accepts_traffic") == "FAIL"
    assert _row(out, "ready[GET /health/ready]") == "FAIL"
    assert _row(out, "test_liveness_answers_quickly") == "PASS"
    assert _row(out, "test_liveness_does_not_depend_on_the_database") == "PASS"
    assert re.search(r"^GET http://127\.0\.0\.1:\d+/health/ready: status = 503, wanted 200", out, re.M)
    assert re.search(r"^attempts \(3 in [\d.]+ s, all 3 attempts used\):$", out, re.M)
    assert re.search(r"^  #3 +\+ *[\d.]+ s  503 ", out, re.M)
    assert "last response: 503 Service Unavailable" in out
    assert '"reason":"database: unable to open database file"' in out


def test_header_gates_name_each_missing_header_when_the_demo_sends_none() -> None:
    done = run_health_gates("no-security-headers")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert _row(out, "test_security_headers_on_the_home_page") == "FAIL"
    assert _row(out, "test_readiness_accepts_traffic") == "PASS"
    for item, text in (
        ("strict-transport-security", "Strict-Transport-Security is missing"),
        ("content-security-policy", "Content-Security-Policy is missing"),
        ("x-content-type-options", "X-Content-Type-Options is missing (wanted nosniff)"),
        ("frame-protection", "X-Frame-Options is missing"),
        ("referrer-policy", "Referrer-Policy is missing"),
        ("cookies", "cookie 'session' lacks Secure, HttpOnly, SameSite"),
    ):
        assert f"  - {item}: {text}" in out
