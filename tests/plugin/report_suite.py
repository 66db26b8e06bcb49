"""A gate suite for the report tests: every family, every verdict, a load result with charts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

SUITE = """
import pytest

def load_result(p95):
    series = [{"t": t, "rps": 120 + (t % 5) * 4, "p95": p95 * (0.8 + (t % 7) / 20), "errors": 1 if t in (4, 11) else 0}
              for t in range(20)]
    histogram = [[0.004 * i, max(0, 60 - (i - 9) ** 2)] for i in range(1, 30)]
    return {"series": series, "percentiles": {"p50": p95 / 2, "p95": p95, "p99": p95 * 1.6}, "histogram": histogram}

@pytest.mark.performance(thresholds=["p95 < 500ms", "error_rate < 1%"])
def test_catalogue_load(gate):
    gate.record_many({"p95": 0.041, "error_rate": 0.002, "rps": 131.0})
    gate.attach("load", load_result(0.041))

@pytest.mark.performance(thresholds=["p95 < 500ms"])
def test_search_load(gate):
    gate.record_many({"p95": 0.812, "rps": 88.5})
    gate.attach("load", load_result(0.812))

@pytest.mark.data(thresholds=["violations == 0"])
def test_orphans(gate):
    gate.record("violations", 0)

@pytest.mark.readiness(severity="warning", thresholds=["days_left > 14"])
def test_certificate(gate):
    gate.record("days_left", 5)

@pytest.mark.health
def test_live():
    pass

def test_not_a_gate():
    pass
"""

GATES = {
    "test_suite.py::test_catalogue_load": ("performance", "pass", {"p95": 0.041, "error_rate": 0.002, "rps": 131.0}),
    "test_suite.py::test_search_load": ("performance", "fail", {"p95": 0.812, "rps": 88.5}),
    "test_suite.py::test_orphans": ("data", "pass", {"violations": 0.0}),
    "test_suite.py::test_certificate": ("readiness", "warning", {"days_left": 5.0}),
    "test_suite.py::test_live": ("health", "pass", {}),
}

REPORT_ARGS = [
    "--html=r.html",
    "--self-contained-html",
    "--prodgate-json",
    "r.json",
    "--prodgate-markdown",
    "r.md",
    "--junitxml=r.xml",
]


def json_gates(path: Path) -> dict[str, tuple[Any, ...]]:
    report = json.loads(path.read_text())
    return {g["nodeid"]: (g["family"], g["verdict"], g["figures"]) for g in report["gates"]}


def junit_gates(path: Path) -> dict[str, tuple[Any, ...]]:
    """Per test case: its prodgate verdict and figures from the JUnit properties."""
    found = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "prodgate.verdict" not in props:
            continue
        figures = {
            k.removeprefix("prodgate.figure."): float(v)
            for k, v in props.items()
            if k and k.startswith("prodgate.figure.")
        }
        found[f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"] = (
            props["prodgate.verdict"],
            figures,
        )
    return found


def markdown_gates(path: Path) -> dict[str, str]:
    rows = [line for line in path.read_text().splitlines() if line.startswith("| :")]
    return {row.split("`")[1]: row.split("|")[1].split()[-1].lower() for row in rows}
