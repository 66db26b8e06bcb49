"""Acceptance: our gates/ suite against the embedded demo writes every report, the same with -n 2."""

from __future__ import annotations

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


def gates_seen(out: Path) -> dict[str, Any]:
    """Per report: each gate's verdict and the names of its figures (the values are measured anew each run)."""
    report = json.loads((out / "r.json").read_text())
    jsonschema.validate(report, load_schema())
    junit = {}
    for case in ET.parse(out / "r.xml").getroot().iter("testcase"):
        props = {p.get("name", ""): p.get("value") for p in case.iter("property")}
        junit[case.get("name")] = (
            props.get("prodgate.verdict"),
            sorted(k for k in props if k.startswith("prodgate.figure.")),
        )
    return {
        "json": {g["name"]: (g["verdict"], sorted(g["figures"])) for g in report["gates"]},
        "junit": junit,
        "markdown": sorted(
            line.split("`")[1] for line in (out / "r.md").read_text().splitlines() if line.startswith("| :")
        ),
        "html": (out / "r.html").read_text().count("prodgate-verdict pass"),
    }


def test_gates_write_the_same_reports_when_run_with_and_without_two_workers(tmp_path: Path) -> None:
    one = run_gates(tmp_path / "one")
    two = run_gates(tmp_path / "two", "-n", "2")
    assert one.returncode == two.returncode == 0, one.stdout + two.stdout
    seen = gates_seen(tmp_path / "one")
    assert seen == gates_seen(tmp_path / "two")
    assert seen["json"]["test_catalogue_responds_quickly"] == ("pass", ["error_rate", "p50", "p95", "requests", "rps"])
    assert len(seen["json"]) == len(seen["junit"]) == len(seen["markdown"]) >= 2
    for done in (one, two):
        assert "prodgate: JSON gate report written to" in done.stdout
        assert "(embedded demo service, pid " in done.stdout
