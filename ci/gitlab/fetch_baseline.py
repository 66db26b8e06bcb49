"""Download the default branch's last performance gate report as the baseline (GitLab job artifacts API).

Usage: ``python ci/gitlab/fetch_baseline.py baseline/performance.json``; exit 0 when it was saved,
1 when there is none yet (the first merge request: relative thresholds then warn). Reads
CI_API_V4_URL, CI_PROJECT_ID, CI_DEFAULT_BRANCH and CI_JOB_TOKEN. Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

JOB = "performance-gates"
ARTIFACT = "reports/performance.json"
TIMEOUT = 30


def main(argv: list[str]) -> int:
    env = os.environ
    if len(argv) != 2 or not all(env.get(k) for k in ("CI_API_V4_URL", "CI_PROJECT_ID", "CI_DEFAULT_BRANCH")):
        print("usage: fetch_baseline.py OUT.json (in a GitLab CI job)", file=sys.stderr)
        return 1
    project = urllib.parse.quote(env["CI_PROJECT_ID"], safe="")
    branch = urllib.parse.quote(env["CI_DEFAULT_BRANCH"], safe="")
    url = f"{env['CI_API_V4_URL']}/projects/{project}/jobs/artifacts/{branch}/raw/{ARTIFACT}?job={JOB}"
    request = urllib.request.Request(url, headers={"JOB-TOKEN": env.get("CI_JOB_TOKEN", "")})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            data = response.read()
    except (urllib.error.URLError, TimeoutError) as exc:
        print(f"fetch_baseline.py: no baseline ({exc})", file=sys.stderr)
        return 1
    Path(argv[1]).parent.mkdir(parents=True, exist_ok=True)
    Path(argv[1]).write_bytes(data)
    print(f"fetch_baseline.py: baseline saved to {argv[1]} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
