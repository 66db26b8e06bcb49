"""pytest-xdist: the same gates and figures in every report, performance gates one at a time."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from tests.plugin.report_suite import GATES, REPORT_ARGS, SUITE, json_gates, junit_gates, markdown_gates

pytest_plugins = ["pytester"]


def html_rows(path: Path) -> set[tuple[str, str]]:
    """(node id, verdict) pairs of the gate columns pytest-html shows, read from its data blob."""
    blob = re.search(r'data-jsonblob="([^"]*)"', path.read_text())
    assert blob is not None
    data = json.loads(html.unescape(blob.group(1)))
    rows = set()
    for nodeid, tests in data["tests"].items():
        for test in tests:
            verdict = re.search(r"prodgate-verdict (\w+)", "".join(test["resultsTableRow"]))
            if verdict:
                rows.add((nodeid, verdict.group(1)))
    return rows


def gate_table(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if "prodgate gates:" in line)
    return lines[start : start + 6]


def test_reports_hold_the_same_gates_when_run_with_two_workers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    serial = pytester.mkdir("serial")
    parallel = pytester.mkdir("parallel")
    one = pytester.runpytest_subprocess(
        *REPORT_ARGS, "--rootdir", str(pytester.path), str(pytester.path / "test_suite.py"), "-o", f"cache_dir={serial}"
    )
    for name in ("r.json", "r.md", "r.xml", "r.html"):
        (pytester.path / name).rename(serial / name)
    two = pytester.runpytest_subprocess(*REPORT_ARGS, "-n", "2")
    for name in ("r.json", "r.md", "r.xml", "r.html"):
        (pytester.path / name).rename(parallel / name)
    assert one.parseoutcomes() == two.parseoutcomes() == {"passed": 4, "failed": 1, "warned": 1}
    assert json_gates(serial / "r.json") == json_gates(parallel / "r.json") == GATES
    assert markdown_gates(serial / "r.md") == markdown_gates(parallel / "r.md")
    assert len(markdown_gates(parallel / "r.md")) == 5
    assert junit_gates(serial / "r.xml") == junit_gates(parallel / "r.xml")
    assert len(junit_gates(parallel / "r.xml")) == 5
    assert html_rows(serial / "r.html") == html_rows(parallel / "r.html")
    assert len(html_rows(parallel / "r.html")) == 5
    assert gate_table(one.outlines) == gate_table(two.outlines)
    assert "@prodgate-performance" not in (parallel / "r.xml").read_text() + (parallel / "r.json").read_text()


TIMED = """
import os, time
import pytest

def stamp(name, what):
    # One short append per event: the file's line order is the order the events happened in,
    # across processes, with no clock to compare.
    with open("stamps.txt", "a") as f:
        f.write(f"{name} {what} {os.environ.get('PYTEST_XDIST_WORKER', '-')}\\n")

@pytest.mark.parametrize("n", range(4))
@pytest.mark.performance
def test_load(gate, n):
    stamp(f"load{n}", "start")
    time.sleep(0.25)  # the gate's own work: time for a peer on the other worker to start, were it allowed to
    gate.record("p95", 0.01)
    stamp(f"load{n}", "end")

@pytest.mark.parametrize("n", range(4))
@pytest.mark.readiness
def test_ready(n):
    stamp(f"ready{n}", "start")
    time.sleep(0.05)  # the check's own work
    stamp(f"ready{n}", "end")
"""


def events(path: Path, prefix: str) -> list[tuple[str, str, str]]:
    """The (name, start or end, worker) events of the gates named ``prefix*``, in the order they happened."""
    found = (tuple(line.split()) for line in path.read_text().splitlines())
    return [(name, what, worker) for name, what, worker in found if name.startswith(prefix)]


@pytest.mark.parametrize("dist", [[], ["--dist", "load"], ["--dist", "worksteal"]])
def test_performance_gates_never_overlap_when_run_with_two_workers(pytester: pytest.Pytester, dist: list[str]) -> None:
    pytester.makepyfile(test_timed=TIMED)
    result = pytester.runpytest_subprocess("-n", "2", *dist)
    result.assert_outcomes(passed=8)
    loads = events(pytester.path / "stamps.txt", "load")
    assert len(loads) == 8
    # Never two at once: each start is followed by the end of the same gate.
    starts, ends = loads[0::2], loads[1::2]
    assert [(name, what) for name, what, _ in starts] == [(name, "start") for name, _, _ in starts], loads
    assert [(name, what) for name, what, _ in ends] == [(name, "end") for name, _, _ in starts], loads
    if not dist or dist[1] == "load":
        assert len({worker for _, _, worker in loads}) == 1  # one group, one worker
    result.stdout.no_fnmatch_line("*@prodgate-performance*")


GROUPED = """
import pytest

@pytest.mark.performance
def test_load(request):
    marker = request.node.get_closest_marker("xdist_group")
    print("GROUP", marker.args[0] if marker else None, request.config.option.loadgroup)
"""


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("", "GROUP prodgate-performance True"),
        ("[tool.prodgate.report]\nserial_performance = false\n", "GROUP None False"),
    ],
    ids=["default", "serial_performance=false"],
)
def test_performance_gates_are_grouped_unless_turned_off_when_run_with_xdist(
    pytester: pytest.Pytester, setting: str, expected: str
) -> None:
    if setting:
        pytester.makepyprojecttoml(setting)
    pytester.makepyfile(test_grouped=GROUPED)
    result = pytester.runpytest_subprocess("-n", "2", "-rP")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([expected])
