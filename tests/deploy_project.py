"""A throwaway project for ``prodgate deploy`` tests: a running shop, gates, deploy and rollback scripts.

The shop is the demo service (``DemoService.start(state_file=...)``), which switches release when its
JSON state file changes (``{"version": "2.0.0", "faults": ["not-ready"]}``). The deploy
script writes that file (new version, faults) and "migrates" the project's SQLite database; the
rollback script restores both from the deployment's backup folder.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from pytest_prodgate.deploy.backup import restore_sqlite
from tests.waiting import wait_for

PY = shlex.quote(sys.executable)
HERE = Path(__file__).parent
ORDERS = 10
SECRET = "tok-3f9a7c1e5b"  # exported as SHOP_API_TOKEN; must never reach a record or the terminal

GATES = """
import os
import httpx
import pytest

SHOP = os.environ["SHOP_URL"]

@pytest.mark.readiness
def test_shop_answers_its_version():
    response = httpx.get(SHOP + "/version", timeout=5)
    assert response.status_code == 200, f"/version answered {response.status_code}"

@pytest.mark.health
def test_shop_is_ready():
    response = httpx.get(SHOP + "/health/ready", timeout=5)
    assert response.status_code == 200, f"/health/ready answered {response.status_code}"
"""

FAILING_READINESS = """
import pytest

@pytest.mark.readiness
def test_release_notes_are_approved():
    assert False, "release notes for 2.0.0 are not approved"
"""

WARNING_READINESS = """
import pytest

@pytest.mark.readiness(severity="warning")
def test_changelog_mentions_the_release():
    assert False, "CHANGELOG does not mention 2.0.0"
"""

DEPLOY = '''
"""Deploy: switch the running shop to a new release (state file) and migrate the database."""
import argparse, json, os, sqlite3, subprocess, sys, time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("version")
parser.add_argument("--fault", action="append", default=[])
parser.add_argument("--fail", action="store_true")
parser.add_argument("--wait-for", help="wait (at most 60s) until this file exists before switching")
parser.add_argument("--child", action="store_true", help="start a long-lived child in the same process group")
args = parser.parse_args()
Path("deploy-started").write_text(str(os.getpid()))
print("deploying", args.version, "with token", os.environ.get("SHOP_API_TOKEN"), flush=True)
if args.child:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    Path("deploy-child.pid").write_text(str(child.pid))
if args.wait_for:
    deadline = time.monotonic() + 60
    while not Path(args.wait_for).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
db = sqlite3.connect("app.db")
db.execute("DELETE FROM orders WHERE id > 5")  # a migration that loses data unless backed up
db.commit()
db.close()
state = Path(os.environ["SHOP_STATE"])
temp = state.with_suffix(".tmp")
temp.write_text(json.dumps({"version": args.version, "faults": args.fault}))
os.replace(temp, state)
Path("deploy-finished").write_text(args.version)
if args.fail:
    print("deploy failed: the new release did not start", flush=True)
    sys.exit(3)
print("deployed", args.version, flush=True)
'''

ROLLBACK = '''
"""Rollback: put the previous release back (state file) and restore the database from the backup."""
import json, os, sys
from pathlib import Path
from pytest_prodgate.deploy.backup import restore_sqlite

Path("rollback-ran").write_text(os.environ.get("PRODGATE_BACKUP_DIR", ""))
if "--fail" in sys.argv:
    print("rollback failed: previous release is gone", flush=True)
    sys.exit(5)
backup = Path(os.environ["PRODGATE_BACKUP_DIR"]) / "app.db"
restore_sqlite(backup, Path("app.db"))
state = Path(os.environ["SHOP_STATE"])
temp = state.with_suffix(".tmp")
temp.write_text(json.dumps({"version": "1.0.0", "faults": []}))
os.replace(temp, state)
print("rolled back to 1.0.0 from", backup, flush=True)
'''


@dataclass
class Shop:
    """The running target: its address and the state file that switches its release."""

    base_url: str
    state_file: Path
    stop: Any

    def version(self) -> str:
        return str(httpx.get(self.base_url + "/version", timeout=5).json()["version"])

    def ready_status(self) -> int:
        return httpx.get(self.base_url + "/health/ready", timeout=5).status_code

    def wait_for_version(self, version: str, timeout: float = 60.0) -> str:
        """The demo re-reads its state file at most every 0.2 s; wait (bounded) for a switch to show."""
        try:
            wait_for(lambda: self.version() == version, deadline=timeout, interval=0.05)
        except AssertionError:
            pass  # the caller asserts on the version it gets back, naming both
        return self.version()


def start_shop(state_file: Path) -> Shop:
    from pytest_prodgate.demo import DemoService

    service = DemoService.start(state_file=state_file)
    return Shop(service.base_url, state_file, service.stop)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


@dataclass
class Project:
    root: Path
    shop: Shop
    env: dict[str, str] = field(default_factory=dict)

    def configure(self, extra: str = "", **deploy: Any) -> None:
        settings = {
            "gates": "readiness",
            "verify": "health",
            "pytest_args": ["gates"],
            "run": f"{PY} deploy.py 2.0.0",
            "rollback": [f"{PY} rollback.py"],
            "sqlite_backup": ["app.db"],
            "health_url": self.shop.base_url + "/health/ready",
            "health_interval": "100ms",
            "timeouts": {"health": "3s", "run": "60s", "rollback": "60s"},
        }
        settings.update(deploy)
        settings = {k: v for k, v in settings.items() if v is not None}
        lines = [
            "[project]",
            'name = "shop"',
            "",
            "[tool.pytest.ini_options]",
            'asyncio_default_fixture_loop_scope = "function"',
        ]
        lines += ["", "[tool.prodgate.deploy]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in settings.items()]
        (self.root / "pyproject.toml").write_text("\n".join(lines) + "\n\n" + extra)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pytest_prodgate", *args]

    def full_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PRODGATE_"))}
        env.update(self.env)
        return env

    def deploy(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command("deploy", *args),
            cwd=self.root,
            env=self.full_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start_deploy(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command("deploy", *args),
            cwd=self.root,
            env=self.full_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def history(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command("history", *args),
            cwd=self.root,
            env=self.full_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def records(self) -> list[dict[str, Any]]:
        folder = self.root / ".prodgate" / "deployments"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]

    def only_record(self) -> dict[str, Any]:
        records = self.records()
        assert len(records) == 1, [r["id"] for r in records]
        return records[0]

    def orders(self, path: Path | None = None) -> int:
        db = sqlite3.connect(path or self.root / "app.db")
        try:
            return int(db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])
        finally:
            db.close()

    def assert_backup_restorable(self, record: dict[str, Any]) -> Path:
        """The deployment's backup folder holds app.db, and restoring it gives back every order."""
        backup = Path(record["backup_dir"]) / "app.db"
        assert backup.is_file(), f"no backup at {backup}"
        restored = self.root.parent / f"restored-{record['id']}.db"
        sqlite3.connect(restored).close()
        restore_sqlite(backup, restored)
        assert self.orders(restored) == ORDERS
        return backup

    def files(self) -> dict[str, tuple[int, int]]:
        """Every file under the project with its size and modification time."""
        return {
            str(p.relative_to(self.root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(self.root.rglob("*"))
            if p.is_file()
        }


def gone(pid: int, within: float = 60.0) -> bool:
    """Whether ``pid`` ends (or is left a zombie) within ``within`` seconds: a killed process takes a moment."""

    def ended() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    try:
        return wait_for(ended, deadline=within, interval=0.05)
    except AssertionError:
        return False


def step_names(record: dict[str, Any]) -> list[str]:
    return [step["name"] for step in record["steps"]]


def step(record: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in record["steps"] if s["name"] == name)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    state = tmp_path / "shop-state.json"
    state.write_text(json.dumps({"version": "1.0.0", "faults": []}))
    running = start_shop(state)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def project(tmp_path: Path, shop: Shop) -> Project:
    root = tmp_path / "shop"
    (root / "gates").mkdir(parents=True)
    (root / "gates" / "test_release_gates.py").write_text(GATES)
    (root / "deploy.py").write_text(DEPLOY)
    (root / "rollback.py").write_text(ROLLBACK)
    db = sqlite3.connect(root / "app.db")
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
    db.executemany("INSERT INTO orders (id, total) VALUES (?, ?)", [(i, i * 9.5) for i in range(1, ORDERS + 1)])
    db.commit()
    db.close()
    created = Project(
        root, shop, env={"SHOP_URL": shop.base_url, "SHOP_STATE": str(shop.state_file), "SHOP_API_TOKEN": SECRET}
    )
    created.configure()
    return created
