"""Acceptance: our gates/ suite against the embedded demo writes every report, the same with -n 2."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema

from pytest_prodgate.report.jsonreport import load_schema

ROOT = Path(__file__).resolve().parents[2]


def run_gates(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODGATE_", "PYTEST_", "GITHUB_"))}
    out.mkdir()
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "gates",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            *args,
            f"--html={out / 'r.html'}",
            "--self-contained-html",
            "--prodgate-json",
            str(out / "r.json"),
            "--prodgate-markdown",
            str(out / "r.md"),
            f"--junitxml={out / 'r.xml'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


# Gates that judge the machine the tests run on (CPU busy now): their verdict follows the host's load,
# which -n 2 and the other jobs on a CI machine change; their presence and figures must still match.
HOST_DEPENDENT = ("test_host_",)


def _verdict(name: str, verdict: str) -> str:
    return "(host)" if name.startswith(HOST_DEPENDENT) else verdict


def gates_seen(out: Path) -> dict[str, Any]:
    """Per report: each gate's name, verdict and figure names (the values are measured anew each run)."""
    report = json.loads((out / "r.json").read_text())
    jsonschema.validate(report, load_schema())
    junit = []
    for case in ET.parse(out / "r.xml").getroot().iter("testcase"):
        props = {p.get("name", ""): p.get("value") for p in case.iter("property")}
        if "prodgate.verdict" in props:
            figures = sorted(k.removeprefix("prodgate.figure.") for k in props if k.startswith("prodgate.figure."))
            name = case.get("name", "")
            junit.append((name, _verdict(name, props["prodgate.verdict"] or ""), figures))
    markdown = (out / "r.md").read_text().splitlines()
    return {
        "json": sorted((g["name"], _verdict(g["name"], g["verdict"]), sorted(g["figures"])) for g in report["gates"]),
        "junit": sorted(junit),
        "markdown": sorted(line.split("`")[1] for line in markdown if line.startswith("| :")),
        # gate rows pytest-html shows (in its data blob: HTML-escaped JSON)
        "html": html.unescape((out / "r.html").read_text()).count('<td class=\\"col-verdict\\"><span'),
    }


def test_gates_write_the_same_reports_when_run_with_and_without_two_workers(tmp_path: Path) -> None:
    one = run_gates(tmp_path / "one")
    two = run_gates(tmp_path / "two", "-n", "2")
    assert one.returncode == two.returncode == 0, one.stdout + two.stdout
    seen = gates_seen(tmp_path / "one")
    assert seen == gates_seen(tmp_path / "two")
    catalogue = [entry for entry in seen["json"] if entry[0] == "test_catalogue_responds_quickly"]
    assert len(catalogue) == 1 and catalogue[0][1] == "pass"
    assert {"error_rate", "p50", "p95", "p99", "rps", "requests", "search.p95"} <= set(catalogue[0][2])
    assert seen["json"] == seen["junit"]
    assert [name for name, _, _ in seen["json"]] == seen["markdown"]
    assert seen["html"] == len(seen["json"])
    for done in (one, two):
        assert "prodgate: JSON gate report written to" in done.stdout
        assert "(embedded demo service, pid " in done.stdout
