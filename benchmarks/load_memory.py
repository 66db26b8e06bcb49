"""The generator's memory against the request count, and the reference cycles a run leaves behind.

Run by hand (never in the test suite):

    python benchmarks/load_memory.py                                  # 100,000 and 10,000,000 requests
    python benchmarks/load_memory.py --counts 100000,1000000 --close-counts 100000,1000000

Two parts:

1. **Peak RSS** (``wait4``'s ``ru_maxrss``) of ``prodgate load URL --users 50 --iterations N`` against
   nginx, side by side for each N: once with keep-alive (50 connections for the whole run) and once
   with nginx closing every connection after its response (a new connection per request).
2. **Cycle census**: the same load in this process with ``gc.DEBUG_SAVEALL``; after the run,
   ``gc.collect()`` puts every object only the cyclic collector could free into ``gc.garbage``,
   counted by type, for two request counts. Objects per request that grow with the count are
   garbage made per request; a constant count is the run's own structures (made once).
"""

from __future__ import annotations

import argparse
import collections
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load_peers import ROOT, measured, nginx  # noqa: E402


def peak_rss(url: str, count: int) -> tuple[float, float]:
    """Peak RSS (MB) and wall time of one CLI run of ``count`` requests."""
    command = [sys.executable, "-m", "pytest_prodgate", "load", url, "--users", "50", "--iterations", str(count),
               "--duration", "3600s", "--timeout", "5s", "--no-smoke", "-q"]  # fmt: skip
    _, _, maxrss, wall = measured(command, limit=4000, cwd=ROOT)
    return maxrss / 1024**2, wall


def census(url: str, count: int) -> tuple[int, collections.Counter[str]]:
    """Objects left in reference cycles by a run of ``count`` requests in this process, by type."""
    from pytest_prodgate.performance import run_load

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run_load(url, users=50, iterations=count, smoke=False, quiet=True)
        gc.collect()
        kinds = collections.Counter(type(o).__name__ for o in gc.garbage)
        return len(gc.garbage), kinds
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--counts", default="100000,10000000", help="Request counts with keep-alive")
    parser.add_argument("--close-counts", default="100000,1000000", help="Request counts with a connection each")
    parser.add_argument("--census", default="5000,20000", help="Request counts for the cycle census ('' skips)")
    args = parser.parse_args(argv)
    lines: list[str] = []
    for keepalive, counts in ((True, args.counts), (False, args.close_counts)):
        label = "keep-alive" if keepalive else "a connection per request"
        with nginx(keepalive=keepalive) as url:
            rows = []
            for count in [int(c) for c in counts.split(",") if c]:
                rss, wall = peak_rss(url, count)
                rows.append((count, rss))
                print(f"  {label}: {count:,} requests, peak RSS {rss:.1f} MB, {wall:.0f} s", flush=True)
            if rows:
                first, last = rows[0], rows[-1]
                lines.append(
                    f"- nginx, 50 users, {label}: "
                    + ", ".join(f"{c:,} requests {r:.1f} MB" for c, r in rows)
                    + f" (difference {last[1] - first[1]:+.1f} MB)"
                )
            if args.census and not keepalive:
                counts_ = [int(c) for c in args.census.split(",") if c]
                for count in counts_:
                    total, kinds = census(url, count)
                    top = ", ".join(f"{n} {k}" for k, n in kinds.most_common(6))
                    lines.append(f"- cycle census, {label}, {count:,} requests: {total:,} objects ({top})")
                    print(lines[-1], flush=True)
    print("\n".join(["", "Memory of prodgate (peak RSS of the process, wait4):", *lines]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
