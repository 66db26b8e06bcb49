"""A small HTTP server whose application memory lives in a child process, for the server memory gate's tests.

For each request the parent asks its child to retain CHUNK more bytes (touching every page, so
they count in RSS) and answers once the child has done it: growth is exact and all in the child.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

SERVER = textwrap.dedent(
    """
    import http.server, subprocess, sys, time
    CHUNK, DELAY = int(sys.argv[1]), float(sys.argv[2])
    CHILD = (
        "import sys\\n"
        "kept = []\\n"
        "for line in sys.stdin:\\n"
        "    block = bytearray(int(line))\\n"
        "    block[::4096] = b'\\\\x01' * len(range(0, len(block), 4096))\\n"
        "    kept.append(block)\\n"
        "    print('ok', flush=True)\\n"
    )
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            time.sleep(DELAY)
            if CHUNK:
                child.stdin.write(f"{CHUNK}\\n")
                child.stdin.flush()
                child.stdout.readline()
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    finally:
        child.kill()
    """
)


def start_server(tmp_path: Path, chunk: int, delay: float = 0.0) -> tuple[subprocess.Popen[str], str]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    process = subprocess.Popen([sys.executable, str(script), str(chunk), str(delay)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/"


def stop_server(process: subprocess.Popen[str]) -> None:
    """Kill the server and its child (bounded wait)."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for child in children:
        child.kill()
    process.kill()
    process.wait(timeout=10)
