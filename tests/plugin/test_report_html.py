"""The pytest-html report: gate summary, gate columns, details with charts; rendered in headless Chromium."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.plugin.report_suite import SUITE
from tests.services import in_ci

pytest_plugins = ["pytester"]

HTML_ARGS = ["--html=r.html", "--self-contained-html"]


def html_data(path: Path) -> dict[str, Any]:
    blob = re.search(r'data-jsonblob="([^"]*)"', path.read_text())
    assert blob is not None
    data: dict[str, Any] = json.loads(html.unescape(blob.group(1)))
    return data


def extras_html(test: dict[str, Any]) -> str:
    return "".join(e["content"] for e in test.get("extras", []) if e["format_type"] == "html")


def test_gate_summary_columns_and_details_are_shown_when_html_is_on(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest_subprocess(*HTML_ARGS).assert_outcomes(passed=4, failed=1)
    page = (pytester.path / "r.html").read_text()
    summary = page[page.index('id="prodgate-summary"') : page.index('class="run-count"')]
    assert "Gates did not pass: 1 fail, 1 warning, 3 pass" in summary
    assert "1 blocking gate did not pass (1 failed)" in summary
    # columns: fail, error, skip, warning, pass
    assert re.search(r"<tr><td>performance</td><td>1</td><td></td><td></td><td></td><td>1</td></tr>", summary)
    assert "test_suite.py::test_certificate: days_left 5, wanted &gt; 14" in summary  # the warning
    assert 'data-column-type="family">Family</th>' in page and "<th>Deciding figure</th>" in page
    data = html_data(pytester.path / "r.html")
    tests = {nodeid: runs[-1] for nodeid, runs in data["tests"].items()}
    search = tests["test_suite.py::test_search_load"]
    row = "".join(search["resultsTableRow"])
    assert '<td class="col-family">performance</td>' in row and "prodgate-verdict fail" in row
    assert '<td class="col-decided">p95 812 ms, wanted &lt; 500 ms</td>' in row
    detail = extras_html(search)
    assert "<td><code>p95 &lt; 500ms</code></td><td>812 ms</td><td>&lt; 500 ms</td>" in detail
    assert detail.count("<svg") == 3 and "mark-p99" in detail
    catalogue = extras_html(tests["test_suite.py::test_catalogue_load"])
    assert "<td>error_rate</td><td>0.2 %</td>" in catalogue and catalogue.count("<svg") == 3
    assert extras_html(tests["test_suite.py::test_orphans"]).count("<svg") == 0
    assert extras_html(tests["test_suite.py::test_not_a_gate"]) == ""
    assert '<td class="col-family"></td>' in "".join(tests["test_suite.py::test_not_a_gate"]["resultsTableRow"])


def test_charts_are_left_out_when_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.prodgate.report]\ncharts = false\n")
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest_subprocess(*HTML_ARGS).assert_outcomes(passed=4, failed=1)
    page = (pytester.path / "r.html").read_text()
    assert "<svg" not in html.unescape(page) and "prodgate-thresholds" in html.unescape(page)


def chromium() -> str:
    """The Chromium binary; skip without it, fail when CI=true (.ci/run installs it from Debian)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    message = "chromium is not installed (apt-get install -y chromium)"
    if in_ci():
        pytest.fail(message + "; CI=true: a missing tool fails the test", pytrace=False)
    pytest.skip(message)


def run_chromium(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="prodgate-chromium-") as profile:
        return subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) into rows of raw pixels."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0
    bpp = 4 if color == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            up_left = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)) & 0xFF
        rows.append(bytes(line[j] for j in range(stride) if j % bpp < 3))
        previous = line
    return width, height, rows


def count_color(rows: list[bytes], rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    count = 0
    for row in rows:
        for x in range(0, len(row), 3):
            if all(abs(row[x + c] - rgb[c]) <= tolerance for c in range(3)):
                count += 1
    return count


def test_report_renders_with_charts_when_opened_in_headless_chromium(pytester: pytest.Pytester) -> None:
    binary = chromium()
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest_subprocess(*HTML_ARGS).assert_outcomes(passed=4, failed=1)
    url = (pytester.path / "r.html").as_uri() + "?collapsed="  # pytest-html: expand every row
    dom = run_chromium(binary, "--virtual-time-budget=5000", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not [line for line in console if "Uncaught" in line or "Error" in line], console
    assert dom.stdout.count('class="prodgate-chart prodgate-latency"') == 2
    assert dom.stdout.count('class="prodgate-chart prodgate-throughput"') == 2
    assert dom.stdout.count('class="prodgate-chart prodgate-errors"') == 2
    assert 'id="prodgate-summary"' in dom.stdout
    shot = pytester.path / "report.png"
    done = run_chromium(binary, f"--screenshot={shot}", "--window-size=1400,2000", url)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    if os.environ.get("PRODGATE_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["PRODGATE_KEEP_SCREENSHOT"])
    width, height, rows = png_pixels(shot)
    assert (width, height) == (1400, 2000)
    # The charts' own colours are on screen: the charts section under the summary (p95 over time, the
    # requests/s line), and the latency bars of the expanded details further down.
    assert count_color(rows, (0x2F, 0x6D, 0xB5)) > 100
    assert count_color(rows, (0xD9, 0x82, 0x2B)) > 100
    assert count_color(rows, (0x7A, 0xA6, 0xD6)) > 100
    assert dom.stdout.count('class="prodgate-chart prodgate-latency-time"') == 2
    assert dom.stdout.index('id="prodgate-charts"') < dom.stdout.index('id="results-table"')
