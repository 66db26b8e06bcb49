"""Post the gate comment on a GitLab merge request, or update the one posted before (one note per MR).

Usage: ``python ci/gitlab/post_note.py reports/comment.md`` in a merge-request pipeline. Reads
CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID and PRODGATE_GITLAB_TOKEN (a project access token
with api scope) from the environment. The note is found by the marker the body starts with
(``<!-- pytest-prodgate gate summary -->``, written by ``prodgate report comment``). Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

MARKER = "<!-- pytest-prodgate gate summary -->"
TIMEOUT = 30  # seconds, for each request


def call(method: str, url: str, token: str, data: dict[str, str] | None = None) -> Any:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers={"PRIVATE-TOKEN": token})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read() or b"null")


def existing_note(notes_url: str, token: str) -> int | None:
    page = 1
    while page <= 50:  # 5,000 notes at most
        notes = call("GET", f"{notes_url}?per_page=100&page={page}", token)
        for note in notes or []:
            if str(note.get("body", "")).startswith(MARKER):
                return int(note["id"])
        if len(notes or []) < 100:
            return None
        page += 1
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: post_note.py COMMENT.md", file=sys.stderr)
        return 4
    env = os.environ
    missing = [
        k for k in ("CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID", "PRODGATE_GITLAB_TOKEN") if not env.get(k)
    ]
    if missing:
        print(f"post_note.py: {', '.join(missing)} not set; not posting", file=sys.stderr)
        return 4
    body = Path(argv[1]).read_text(encoding="utf-8")
    token = env["PRODGATE_GITLAB_TOKEN"]
    project = urllib.parse.quote(env["CI_PROJECT_ID"], safe="")
    notes_url = f"{env['CI_API_V4_URL']}/projects/{project}/merge_requests/{env['CI_MERGE_REQUEST_IID']}/notes"
    note_id = existing_note(notes_url, token)
    if note_id is None:
        call("POST", notes_url, token, {"body": body})
        print("post_note.py: note posted")
    else:
        call("PUT", f"{notes_url}/{note_id}", token, {"body": body})
        print(f"post_note.py: note {note_id} updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
