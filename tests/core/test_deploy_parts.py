"""The deploy pipeline's parts on their own: steps as subprocesses, lock, record, backup, health, config."""

from __future__ import annotations

import datetime
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pytest_prodgate.config import load_config
from pytest_prodgate.deploy.backup import backup_sqlite, folder_is_empty, make_backup_dir, prune_backups, restore_sqlite
from pytest_prodgate.deploy.config import DeploySettings
from pytest_prodgate.deploy.exitcodes import DeployExit
from pytest_prodgate.deploy.health import wait_until_healthy
from pytest_prodgate.deploy.lock import DeployLock, LockHeld, StaleLock, read_lock
from pytest_prodgate.deploy.process import run_command
from pytest_prodgate.deploy.record import list_records, load_record, new_deployment_id, write_record
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.redact import Redactor
from tests.deploy_project import gone
from tests.waiting import wait_for


def test_step_is_stopped_with_its_children_when_it_times_out(tmp_path: Path) -> None:
    script = f"{sys.executable} -c 'import time; time.sleep(60)' & echo $! > child.pid; echo started; wait"
    result = run_command(script, cwd=tmp_path, env=os.environ, timeout=1.0, redactor=Redactor(env={}))
    child = int((tmp_path / "child.pid").read_text())
    assert result.timed_out and not result.ok
    assert result.why().startswith("timed out after ") and result.duration >= 1.0
    assert result.tail == ["started"]
    assert gone(child)


def test_step_output_is_masked_and_only_its_tail_kept_when_it_prints_secrets(tmp_path: Path) -> None:
    env = {**os.environ, "SHOP_PASSWORD": "hunter2-hunter2"}
    script = (
        'for i in 1 2 3 4 5; do echo "line $i"; done; echo "pw=$SHOP_PASSWORD url=postgresql://app:pw1234@db/x"; exit 7'
    )
    result = run_command(script, cwd=tmp_path, env=env, timeout=30, redactor=Redactor(env=env), tail_lines=3)
    assert result.exit_code == 7 and result.why() == "exit code 7"
    assert result.tail == ["line 4", "line 5", "pw=******** url=postgresql://app:********@db/x"]


def test_step_fails_with_a_reason_when_its_command_cannot_start(tmp_path: Path) -> None:
    result = run_command(["/nonexistent/deploy"], cwd=tmp_path, env=os.environ, timeout=5, redactor=Redactor(env={}))
    assert result.exit_code is None and result.why() == "could not start: No such file or directory"


def test_lock_is_exclusive_and_released_when_the_owner_is_done(tmp_path: Path) -> None:
    path = tmp_path / "deploy-shop.lock"
    first = DeployLock(path, "one", "shop")
    first.acquire()
    owner = read_lock(path)
    assert owner is not None and owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
    assert owner["deployment"] == "one" and owner["user"] and owner["started"]
    with pytest.raises(LockHeld, match=r"target 'shop' is locked by pid \d+ on .*deployment one"):
        DeployLock(path, "two", "shop").acquire(wait=0.3)
    first.release()
    assert not path.exists()
    with DeployLock(path, "two", "shop") as second:
        second.acquire()
        assert read_lock(path)["deployment"] == "two"  # type: ignore[index]
    assert not path.exists()


def test_lock_with_a_reused_pid_is_stale_when_the_process_start_time_differs(tmp_path: Path) -> None:
    path = tmp_path / "deploy-shop.lock"
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "process_started": 1.0, "deployment": "old"}
    path.write_text(json.dumps(owner))
    with pytest.raises(StaleLock, match="no longer running; rerun with --force"):
        DeployLock(path, "new", "shop").acquire()
    lock = DeployLock(path, "new", "shop")
    lock.acquire(force=True)
    assert lock.took_over == owner and read_lock(path)["deployment"] == "new"  # type: ignore[index]


def test_only_one_of_many_takes_the_lock_when_they_race(tmp_path: Path) -> None:
    path = tmp_path / "deploy-shop.lock"
    code = (
        "import sys; from pathlib import Path; from pytest_prodgate.deploy.lock import DeployLock, LockHeld\n"
        "lock = DeployLock(Path(sys.argv[1]), sys.argv[2], 'shop')\n"
        "try:\n    lock.acquire()\nexcept LockHeld:\n    sys.exit(14)\n"
        "import time\ndeadline = time.monotonic() + 120  # the test creates the release file; never hang if it died\n"
        "while not Path(sys.argv[3]).exists() and time.monotonic() < deadline:\n    time.sleep(0.02)\n"
    )
    release = tmp_path / "release"
    racers = [subprocess.Popen([sys.executable, "-c", code, str(path), f"d{i}", str(release)]) for i in range(4)]
    try:  # the winner holds the lock until the other three have been refused, however slowly they start
        wait_for(lambda: sum(p.poll() is not None for p in racers) >= 3, what="three of the four racers to finish")
    finally:
        release.touch()
    codes = sorted(p.wait(60) for p in racers)
    assert codes == [0, 14, 14, 14]


def test_deployment_id_starts_with_its_fixed_width_utc_stamp_when_made() -> None:
    # Fixed width, stamp first: ids sort by start time (read from the id, rather than sleeping
    # between two calls and hoping the clock moved).
    made = new_deployment_id()
    assert re.fullmatch(r"\d{8}T\d{9}Z-[0-9a-f]{6}", made), made
    stamp = datetime.datetime.strptime(made[:15] + "+0000", "%Y%m%dT%H%M%S%z")
    assert abs(stamp - datetime.datetime.now(datetime.timezone.utc)) < datetime.timedelta(hours=1)


def test_record_is_replaced_whole_and_listed_newest_first_when_rewritten(tmp_path: Path) -> None:
    # Fixed ids a millisecond apart: the order is the ids', not the clock's resolution.
    first_id, second_id = "20261123T130133041Z-ffffff", "20261123T130133042Z-000000"
    write_record(tmp_path, {"id": first_id, "outcome": "running", "steps": []})
    write_record(tmp_path, {"id": first_id, "outcome": "deployed and verified", "steps": [{"name": "run"}]})
    write_record(tmp_path, {"id": second_id, "outcome": "running"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{first_id}.json", f"{second_id}.json"]
    )  # no temp left
    assert [r["id"] for r in list_records(tmp_path)] == [second_id, first_id]
    assert load_record(tmp_path, first_id)["outcome"] == "deployed and verified"
    with pytest.raises(FileNotFoundError, match="matches several deployments"):
        load_record(tmp_path, first_id[:8])


def test_sqlite_backup_is_restorable_when_the_database_was_changed_afterwards(tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    db = sqlite3.connect(database)
    db.execute("PRAGMA journal_mode=WAL")  # pending pages in the WAL: a plain file copy could miss them
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    db.executemany("INSERT INTO orders VALUES (?)", [(i,) for i in range(100)])
    db.commit()
    folder = make_backup_dir(tmp_path / "backups", new_deployment_id())
    copy = backup_sqlite(database, folder)  # while the connection above is still open
    db.execute("DELETE FROM orders")
    db.commit()
    db.close()

    restore_sqlite(copy, database)

    assert not folder_is_empty(folder)
    assert sqlite3.connect(database).execute("SELECT COUNT(*) FROM orders").fetchone() == (100,)


def test_backup_command_line_fails_in_one_line_when_the_database_is_missing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_prodgate.deploy.backup", "sqlite", str(tmp_path / "nope.db"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == f"prodgate backup: SQLite database {tmp_path / 'nope.db'} does not exist\n"


def test_prune_keeps_the_newest_backups_when_there_are_more_than_keep(tmp_path: Path) -> None:
    ids = [f"2026010{i}T000000000Z-00000{i}" for i in range(1, 6)]
    for deployment in ids:
        make_backup_dir(tmp_path, deployment)
    (tmp_path / "not-a-backup").mkdir()
    removed = prune_backups(tmp_path, 2)
    assert sorted(p.name for p in removed) == ids[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == [*ids[3:], "not-a-backup"]


def test_health_wait_gives_up_when_the_deadline_passes_and_succeeds_when_healthy(tmp_path: Path) -> None:
    status = {"code": 503}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status["code"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/health/ready"
    try:
        down = wait_until_healthy(url, timeout=2, interval=0.1)
        status["code"] = 200
        up = wait_until_healthy(url, timeout=5, interval=0.1)
    finally:
        server.shutdown()
        server.server_close()
    # Bounded in count by the policy: one attempt, then at most one per half interval (the most jitter takes off).
    # A 2 s wait leaves room for a retry even when a busy machine makes one request take a second.
    assert (down.healthy, down.last) == (False, "503") and 2 <= down.attempts <= 2 / (0.1 / 2) + 1
    assert (up.healthy, up.attempts, up.last) == (True, 1, "200")


def test_settings_take_flags_over_the_section_when_both_are_given(tmp_path: Path) -> None:
    section = {"gates": "readiness", "run": "./deploy.sh", "backup": ["a"], "timeouts": {"run": "2m"}, "keep": 3}
    settings = DeploySettings.from_section(
        section,
        root=tmp_path,
        environment="production",
        overrides={"run": "./other.sh", "gates": None, "backup": ["b"]},
    )
    assert (settings.run, settings.gates, settings.backup, settings.keep) == ("./other.sh", "readiness", ("b",), 3)
    assert settings.timeout("run") == 120 and settings.timeout("gates") == 600
    assert settings.records_dir == tmp_path.resolve() / ".prodgate" / "deployments"
    assert settings.target == "production"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"rollback_policy": "sometimes"},
            "[tool.prodgate.deploy.rollback_policy] must be one of 'automatic', 'manual', got 'sometimes'",
        ),
        (
            {"timeouts": {"run": "soon"}},
            "[tool.prodgate.deploy.timeouts.run]: 'soon' is not a duration. Expected e.g. 500ms or 2s",
        ),
        ({"rollbak": ["x"]}, "[tool.prodgate.deploy]: unknown key 'rollbak' (did you mean 'rollback'?)"),
        ({"webhooks": [{"format": "slack"}]}, "[tool.prodgate.deploy] webhooks[0].url must be an http(s) URL, got ''"),
        ({"keep": 0}, "[tool.prodgate.deploy] keep must be at least 1, got 0"),
        (
            {"email": {"host": "smtp"}},
            "[tool.prodgate.deploy] email.to is required when [tool.prodgate.deploy.email] is set",
        ),
    ],
)
def test_settings_name_the_key_when_the_section_is_wrong(
    tmp_path: Path, section: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        DeploySettings.from_section(section, root=tmp_path)
    assert str(excinfo.value) == message


def test_deploy_exits_with_usage_error_in_one_line_when_the_config_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.prodgate.deploy]\nrun = "true"\nkeep = "many"\n')
    done = subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", "deploy"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == DeployExit.USAGE_ERROR == 4
    assert (
        done.stderr
        == f"prodgate deploy: error: {tmp_path / 'pyproject.toml'}: [tool.prodgate.deploy.keep] must be an integer, got 'many'\n"
    )
    assert not (tmp_path / ".prodgate").exists()


def test_deploy_exits_with_usage_error_when_there_is_nothing_to_deploy(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.prodgate.deploy]\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest_prodgate", "deploy"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 4
    assert done.stderr == "prodgate: error: nothing to deploy: set run in [tool.prodgate.deploy] or pass --run CMD\n"


def test_deploy_modules_import_when_pytest_is_unavailable() -> None:
    modules = [
        "backup",
        "cli",
        "config",
        "exitcodes",
        "gatereport",
        "health",
        "lock",
        "notify",
        "pipeline",
        "plan",
        "process",
        "record",
    ]
    code = "import sys; sys.modules['pytest'] = None\n" + "\n".join(
        f"import pytest_prodgate.deploy.{m}" for m in modules
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_exit_codes_are_distinct_and_keep_the_shared_meanings_when_compared() -> None:
    from pytest_prodgate.exitcodes import ExitCode

    assert len({int(c) for c in DeployExit}) == len(DeployExit)
    assert (DeployExit.DEPLOYED, DeployExit.GATES_FAILED, DeployExit.USAGE_ERROR) == (
        ExitCode.OK,
        ExitCode.GATES_FAILED,
        ExitCode.USAGE_ERROR,
    )
    assert all(c.meaning for c in DeployExit)


def test_documented_configuration_is_valid_when_loaded_for_production(tmp_path: Path) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "deploy.md").read_text()
    toml = docs.split("## Configuration: `[tool.prodgate.deploy]`")[1].split("```toml\n")[1].split("```")[0]
    (tmp_path / "pyproject.toml").write_text(toml)
    config = load_config(tmp_path / "pyproject.toml", "production")
    settings = DeploySettings.from_section(config.section("deploy"), root=tmp_path, environment="production")
    assert settings.health_url == "https://shop.example.com/health/ready"
    assert settings.target == "shop-production"
    assert [hook.format for hook in settings.webhooks] == ["slack", "json"]
    assert settings.email is not None and settings.email.to == ("ops@example.com",) and settings.email.port == 587
    assert settings.timeout("health") == 120 and settings.keep == 5
