"""What pytest-prodgate costs a pytest run that selects no gate (issue 11: "costs nothing when no gate runs").

Makes a temporary one-test project and runs ``python -m pytest -q`` in it N times with the plugin
and N times with ``-p no:prodgate`` (interleaved, so drift hits both alike), measuring each child's
wall time and maximum resident memory (``os.wait4``). Prints the medians side by side, their
difference and the median of the paired differences (each pair run back to back, which cancels the
drift of a shared machine), the median time of ``prodgate --help``, and which pytest_prodgate and heavy third-party
modules a gate-less run imports::

    python benchmarks/import_cost.py            # 10 runs each
    python benchmarks/import_cost.py --runs 30
    python benchmarks/import_cost.py --smoke    # 2 runs each (the test suite runs this)

The target is at most +50 ms and +5 MB over ``-p no:prodgate``; ``prodgate --help`` under 300 ms.
The children run with bytecode caching on (as an installed package has its ``.pyc`` files), after
one warm-up run of each variant.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Third-party packages a family brings; a gate-less run should import none of them.
HEAVY = (
    "sqlalchemy",
    "httpx",
    "httpcore",
    "h11",
    "uvicorn",
    "httptools",
    "uvloop",
    "psutil",
    "cryptography",
    "hdrh",
    "jsonschema",
)

MODULES_CODE = """
import json, sys
import pytest
code = pytest.main(["-q", "-p", "no:cacheprovider", sys.argv[1]])
print("MODULES " + json.dumps(sorted(sys.modules)))
"""


# What an installed package has: its bytecode. With PYTHONDONTWRITEBYTECODE set (some CI images and
# containers do), every run would compile our sources again and we would measure the compiler.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed_run(command: list[str], cwd: Path) -> tuple[float, float, float]:
    """Run ``command``; its wall time in seconds, its maximum RSS in bytes and its CPU time in seconds.

    The CPU time (user + system, from ``wait4``) is what the run itself cost: unlike the wall time, it
    does not grow while other processes hold the cores of a shared machine."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=CHILD_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"import_cost: {' '.join(command)} exited with {process.returncode}")
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux
    return elapsed, float(rss), usage.ru_utime + usage.ru_stime


def make_project(root: Path) -> None:
    (root / "test_one.py").write_text("def test_one():\n    assert True\n")
    (root / "pytest.ini").write_text("[pytest]\n")  # the root: nothing above it is read


def imported_modules(root: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", MODULES_CODE, str(root)], cwd=root, capture_output=True, text=True, timeout=120
    )
    for line in done.stdout.splitlines():
        if line.startswith("MODULES "):
            return list(json.loads(line[len("MODULES ") :]))
    raise SystemExit(f"import_cost: no module list from the gate-less run\n{done.stdout}\n{done.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="Runs of each variant (default 10)")
    parser.add_argument("--smoke", action="store_true", help="Two runs of each variant, for the test suite")
    args = parser.parse_args(argv)
    runs = 2 if args.smoke else args.runs

    with tempfile.TemporaryDirectory(prefix="prodgate-import-cost-") as tmp:
        root = Path(tmp)
        make_project(root)
        pytest_command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        variants = {"-p no:prodgate": [*pytest_command, "-p", "no:prodgate"], "with prodgate": pytest_command}
        samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
        for command in [*variants.values(), [sys.executable, "-m", "pytest_prodgate", "--help"]]:
            timed_run(command, root)  # warm the file system cache and write the .pyc files first
        for _ in range(runs):
            for name, command in variants.items():
                samples[name].append(timed_run(command, root))
        help_times = [timed_run([sys.executable, "-m", "pytest_prodgate", "--help"], root)[0] for _ in range(runs)]
        modules = imported_modules(root)

    medians = {
        name: tuple(statistics.median(sample[i] for sample in values) for i in range(3))
        for name, values in samples.items()
    }
    base_time, base_rss, base_cpu = medians["-p no:prodgate"]
    with_time, with_rss, with_cpu = medians["with prodgate"]
    print(f"import cost of pytest-prodgate: median of {runs} runs of `python -m pytest -q` on a one-test project")
    print(f"{'':16}  {'time':>9}  {'max RSS':>9}  {'CPU':>9}")
    for name, (seconds, rss, cpu) in medians.items():
        print(f"{name:16}  {seconds * 1000:>6.0f} ms  {rss / 2**20:>6.1f} MB  {cpu * 1000:>6.0f} ms")
    print(
        f"{'difference':16}  {(with_time - base_time) * 1000:>+6.0f} ms  {(with_rss - base_rss) / 2**20:>+6.1f} MB"
        f"  {(with_cpu - base_cpu) * 1000:>+6.0f} ms"
    )
    # The runs go in pairs (one of each, back to back): the median of the pairs' differences cancels the
    # drift of a shared machine that the difference of two medians keeps.
    pairs = list(zip(samples["with prodgate"], samples["-p no:prodgate"], strict=True))
    paired = [statistics.median(w[i] - b[i] for w, b in pairs) for i in range(3)]
    print(
        f"{'paired median':16}  {paired[0] * 1000:>+6.0f} ms  {paired[1] / 2**20:>+6.1f} MB  {paired[2] * 1000:>+6.0f} ms"
    )
    print(f"{'prodgate --help':16}  {statistics.median(help_times) * 1000:>6.0f} ms")
    ours = [m for m in modules if m == "pytest_prodgate" or m.startswith("pytest_prodgate.")]
    heavy = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    print(
        f"a gate-less run imports {len(ours)} pytest_prodgate modules and {len(heavy)} heavy packages: {', '.join(heavy) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
