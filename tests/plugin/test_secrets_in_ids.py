"""Secrets in node ids and parametrize ids are masked in the terminal and in every report file."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET

import pytest

from pytest_prodgate.plugin.node_ids import masked_node_ids
from pytest_prodgate.redact import Redactor

pytest_plugins = ["pytester"]

DSN_PASSWORD = "pw-LEAK-777"  # in DATABASE_URL
TOKEN = "tok-ID-4242"  # API_TOKEN: named like a secret
PIN = "pin-5150"  # SHOP_PIN: a secret because [tool.prodgate] secrets names it
REPLICA_PASSWORDS = ("first-PW-1", "second-PW-2")  # only in URLs written in the test file
SECRETS = (DSN_PASSWORD, TOKEN, PIN, *REPLICA_PASSWORDS)

SUITE = """
import logging, os
import pytest

from pytest_prodgate.plugin.node_ids import masked_node_ids
from pytest_prodgate.redact import Redactor

DSN = os.environ["DATABASE_URL"]
TOKEN = os.environ["API_TOKEN"]
PIN = os.environ["SHOP_PIN"]

@pytest.mark.readiness
@pytest.mark.parametrize("dsn", [DSN])
def test_parametrized_with_dsn(dsn):
    assert dsn.startswith("sqlite://"), f"wrong database {dsn}"

@pytest.mark.health
@pytest.mark.parametrize("token", [TOKEN, "public"], ids=[f"token-{TOKEN}", "public"])
def test_token_in_ids(token):
    print("calling with", token)
    logging.getLogger("app").warning("authorised with %s", token)

@pytest.mark.data
@pytest.mark.parametrize("url", ["https://shop:first-PW-1@replica/x", "https://shop:second-PW-2@replica/x"])
def test_replica(url):
    print("replica", url)

@pytest.mark.data
@pytest.mark.parametrize("pin", [PIN])
def test_pin_in_message(pin):
    raise AssertionError(f"shop rejected pin {pin}")

class TestInClass:
    @pytest.mark.parametrize("dsn", [DSN], ids=[f"pin-{PIN}"])
    def test_method(self, dsn):
        print("dsn", dsn)
        logging.getLogger("app").error("cannot reach %s", dsn)
        assert dsn == "", "no database expected"
"""

REPORT_ARGS = (
    "-rA",
    "-v",
    "--junitxml=out/r.xml",
    "-o",
    "junit_logging=all",
    "--html=out/r.html",
    "--self-contained-html",
    "--prodgate-json",
    "out/r.json",
    "--prodgate-markdown",
    "out/r.md",
)


def occurrences(artifacts: dict[str, bytes]) -> dict[str, dict[str, int]]:
    """How often each secret occurs in each artifact."""
    return {name: {s: data.count(s.encode()) for s in SECRETS} for name, data in artifacts.items()}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_no_secret_is_shown_or_written_when_ids_hold_secrets(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: list[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:{DSN_PASSWORD}@127.0.0.1:5432/test")
    monkeypatch.setenv("API_TOKEN", TOKEN)
    monkeypatch.setenv("SHOP_PIN", PIN)
    pytester.makepyprojecttoml('[tool.prodgate]\nsecrets = ["SHOP_PIN"]\n')
    pytester.makepyfile(test_ids=SUITE)

    result = pytester.runpytest_subprocess(*workers, *REPORT_ARGS)

    result.assert_outcomes(passed=4, failed=3)
    lines = result.outlines + result.errlines
    artifacts = {"terminal": "\n".join(lines).encode()} | {
        p.relative_to(pytester.path).as_posix(): p.read_bytes() for p in (pytester.path / "out").iterdir()
    }
    assert set(artifacts) == {"terminal", "out/r.html", "out/r.json", "out/r.md", "out/r.xml"}
    page = artifacts["out/r.html"].decode()
    for i, encoded in enumerate(re.findall(r"base64,([A-Za-z0-9+/=]+)", page)):
        artifacts[f"out/r.html data URI {i}"] = base64.b64decode(encoded)
    found = occurrences(artifacts)
    assert found == {name: dict.fromkeys(SECRETS, 0) for name in artifacts}, f"secrets found: {found}"

    # The masked ids are there, in the -r summary and the -v lines.
    dsn_id = "test_ids.py::test_parametrized_with_dsn[postgresql://app:********@127.0.0.1:5432/test]"
    summary = {line.split(" - ")[0] for line in lines}
    assert f"FAILED {dsn_id}" in summary
    assert "FAILED test_ids.py::TestInClass::test_method[pin-********]" in summary
    assert "PASSED test_ids.py::test_token_in_ids[token-********]" in summary
    assert any(dsn_id in line and "%]" in line for line in lines), "the -v line of the gate"
    assert any(line.startswith("_") and " TestInClass.test_method[pin-********] _" in line for line in lines)
    # Ids stay unique: the replicas, equal once masked, are told apart.
    gates = json.loads(artifacts["out/r.json"])["gates"]
    assert len({gate["nodeid"] for gate in gates}) == len(gates) == 6
    replicas = sorted(gate["nodeid"] for gate in gates if "test_replica" in gate["nodeid"])
    assert replicas == [
        "test_ids.py::test_replica[https://shop:********@replica/x#1]",
        "test_ids.py::test_replica[https://shop:********@replica/x#2]",
    ]
    cases = ET.fromstring(artifacts["out/r.xml"]).iter("testcase")
    assert len({(case.get("classname"), case.get("name")) for case in cases}) == 7


LAST_FAILED = """
import os
import pytest

from pytest_prodgate.plugin.node_ids import masked_node_ids
from pytest_prodgate.redact import Redactor

@pytest.mark.parametrize("url", [os.environ["DATABASE_URL"], "sqlite://"])
def test_database(url):
    assert url.startswith("sqlite")
"""


def test_last_failed_reruns_the_masked_id_when_its_real_id_holds_a_secret(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:{DSN_PASSWORD}@127.0.0.1:5432/test")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-o asyncio_default_fixture_loop_scope=function")  # the cache on
    pytester.makepyfile(test_last=LAST_FAILED)
    pytester.runpytest_subprocess().assert_outcomes(passed=1, failed=1)

    again = pytester.runpytest_subprocess("--lf", "-v")

    again.assert_outcomes(failed=1, deselected=1)
    again.stdout.fnmatch_lines(["*test_database?postgresql://app:????????@127.0.0.1:5432/test? FAILED*"])
    cache = [p for p in (pytester.path / ".pytest_cache").rglob("*") if p.is_file()]
    assert cache and not [p.name for p in cache if DSN_PASSWORD.encode() in p.read_bytes()]
    assert any(b"app:********@" in p.read_bytes() for p in cache)


def test_masked_ids_stay_unique_when_masking_makes_them_equal() -> None:
    mask = Redactor(values=[TOKEN], env={}).text
    ids = [
        "t.py::test_a[https://u:p-one@db/x]",
        "t.py::test_a[https://u:p-two@db/x]",
        "t.py::test_b[********]",
        "t.py::test_b[tok-ID-4242]",
        "t.py::test_c[plain]",
    ]
    assert masked_node_ids(ids, mask) == {
        "t.py::test_a[https://u:p-one@db/x]": "t.py::test_a[https://u:********@db/x#1]",
        "t.py::test_a[https://u:p-two@db/x]": "t.py::test_a[https://u:********@db/x#2]",
        "t.py::test_b[tok-ID-4242]": "t.py::test_b[********#1]",  # "********" is a real id already
    }
