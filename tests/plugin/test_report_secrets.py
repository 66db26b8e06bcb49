"""Known secret values never reach any file or the terminal, whatever the reports and output shown."""

from __future__ import annotations

import base64
import re

import pytest

pytest_plugins = ["pytester"]

SECRET = "s3cr3t-XYZ"
DSN_PASSWORD = "pw-ABC"

LEAKY = """
import logging, os
import pytest

KEY = os.environ["SECRET_KEY"]
DSN = os.environ["DATABASE_URL"]

@pytest.mark.readiness
def test_settings_leak(gate):
    print("SECRET_KEY =", KEY, "dsn", DSN)
    logging.getLogger("app").warning("connecting to %s with %s", DSN, KEY)
    gate.attach("request", {"headers": {"Authorization": "Bearer " + KEY, "Cookie": "session=" + KEY}, "dsn": DSN})
    raise AssertionError(f"login failed with key {KEY} on {DSN}")

@pytest.mark.performance(thresholds=["p95 < 100ms"])
def test_load_leak(gate):
    print("target", DSN)
    gate.record("p95", 0.5)
    gate.attach("load", {"series": [{"t": 0, "rps": 1, "p95": 0.5, "errors": 0}], "note": KEY})

@pytest.mark.health
def test_check_leak(gate, extras):
    import pytest_html
    extras.append(pytest_html.extras.text("token " + KEY, name="note"))
    extras.append(pytest_html.extras.html("<p>" + DSN + "</p>"))
    gate.record("status", 500)
    gate.check("status == 200")

def test_plain_leak():
    secret_in_locals = KEY
    assert secret_in_locals == DSN

@pytest.fixture
def broken():
    raise RuntimeError("setup could not log in with " + KEY)

@pytest.mark.data
def test_setup_leak(broken):
    pass

@pytest.mark.health
def test_passes_but_prints():
    import warnings
    warnings.warn(f"deprecated login with {KEY}", UserWarning)
    print("passing test printed", KEY, DSN)
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_no_secret_is_written_anywhere_when_a_failing_suite_prints_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: list[str]
) -> None:
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:{DSN_PASSWORD}@127.0.0.1:5432/test")
    step = pytester.path / "github-step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    pytester.makepyfile(test_leaky=LEAKY)
    result = pytester.runpytest_subprocess(
        *workers,
        "-v",
        "-rA",
        "--showlocals",
        "--log-level=INFO",
        "--html=out/r.html",
        "--self-contained-html",
        "--prodgate-json",
        "out/r.json",
        "--prodgate-markdown",
        "out/r.md",
        "--junitxml=out/r.xml",
        "-o",
        "junit_logging=all",
        "--metadata",
        "DATABASE_URL",
        f"postgresql://app:{DSN_PASSWORD}@db/x",
        "--metadata",
        "deploy",
        f"key {SECRET}",
        "--base-url",
        f"http://app:{DSN_PASSWORD}@127.0.0.1:9",
    )
    result.assert_outcomes(passed=1, failed=4, errors=1)
    terminal = "\n".join(result.outlines + result.errlines)
    assert "login failed with key ******** on postgresql://app:********@127.0.0.1:5432/test" in terminal
    written = [p for p in pytester.path.rglob("*") if p.is_file() and p.name != "test_leaky.py"]
    names = {p.relative_to(pytester.path).as_posix() for p in written}
    assert {"out/r.html", "out/r.json", "out/r.md", "out/r.xml", "github-step-summary.md"} <= names
    scanned = {"terminal": terminal.encode()} | {
        p.relative_to(pytester.path).as_posix(): p.read_bytes() for p in written
    }
    # pytest-html keeps text extras base64-encoded in data: URIs; decode them and scan them too.
    page = scanned["out/r.html"].decode()
    encoded = re.findall(r"data:text/plain;(?:charset=utf-8;)?base64,([A-Za-z0-9+/=]+)", page)
    assert encoded, "the text extra is in the report"
    scanned |= {f"out/r.html data URI {i}": base64.b64decode(e) for i, e in enumerate(encoded)}
    assert any(b"token ********" in v for k, v in scanned.items() if "data URI" in k)
    leaks = {name for name, data in scanned.items() if SECRET.encode() in data or DSN_PASSWORD.encode() in data}
    assert leaks == set(), f"secret found in {sorted(leaks)}"
    # The masked values are there: the reports still say what happened.
    assert b"Bearer" not in scanned["out/r.json"] and b'"Authorization": "********"' in scanned["out/r.json"]
    assert b"SECRET_KEY = ********" in scanned["out/r.xml"]
    assert "********" in (pytester.path / "out" / "r.md").read_text()
    assert "UserWarning: deprecated login with ********" in terminal
