"""The state file: a running demo switches version and faults when a deploy script rewrites it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_prodgate.demo import BAD_DATA, DemoService
from pytest_prodgate.demo.faults import count_bad_data
from pytest_prodgate.demo.state import DEFAULT_VERSION, Release, StateFile, parse_state
from pytest_prodgate.errors import ConfigError, TargetError
from tests.waiting import wait_for


def _write(path: Path, data: Any) -> None:
    """Write atomically, as a deploy script should."""
    scratch = path.with_suffix(".tmp")
    scratch.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    scratch.replace(path)


def _eventually(probe: Callable[[], Any], expected: Any, timeout: float = 60.0) -> Any:
    try:
        wait_for(lambda: probe() == expected, deadline=timeout, interval=0.05)
    except AssertionError:
        pass  # the caller compares what it gets back, naming both
    return probe()


def test_version_and_faults_switch_live_when_the_state_file_changes(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    _write(state, {"version": "1.1.0"})
    with (
        DemoService.start(state_file=state, env={"PRODGATE_DEMO_FAULTS": ""}) as service,
        httpx.Client(base_url=service.base_url, timeout=5.0) as client,
    ):

        def version() -> str:
            return str(client.get("/version").json()["version"])

        def ready() -> int:
            return client.get("/health/ready").status_code

        def problems() -> dict[str, int]:
            with sqlite3.connect(f"file:{service.db_path}?mode=ro", uri=True) as conn:
                return count_bad_data(conn)

        assert version() == "1.1.0"
        assert client.get("/health/detailed").json()["checks"]["state_file"]["status"] == "ok"

        _write(state, {"version": "1.2.0", "faults": ["not-ready", "bad-data"]})
        assert _eventually(version, "1.2.0") == "1.2.0"
        assert ready() == 503
        assert client.get("/health/live").status_code == 200
        assert "Version 1.2.0" in client.get("/").text
        assert _eventually(problems, BAD_DATA) == BAD_DATA

        _write(state, "{not json")  # a broken release file keeps the running one
        assert (
            _eventually(lambda: client.get("/health/detailed").json()["checks"]["state_file"]["status"], "failing")
            == "failing"
        )
        assert version() == "1.2.0"

        _write(state, {"version": "1.1.0", "faults": []})
        assert _eventually(version, "1.1.0") == "1.1.0"
        assert ready() == 200
        assert problems() == dict.fromkeys(BAD_DATA, 0)
        assert "ignoring state file" in service.stderr_text()


def test_demo_does_not_start_when_the_state_file_names_an_unknown_fault(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    _write(state, {"faults": ["explode"]})
    with pytest.raises(TargetError, match="unknown fault 'explode'; known faults: slow, errors"):
        DemoService.start(state_file=state, env={"PRODGATE_DEMO_FAULTS": ""})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "expected a JSON object"),
        ('{"version": 2}', "'version' must be a string, not int"),
        ('{"faults": "slow"}', "'faults' must be a list of fault names"),
        ('{"releases": []}', "unknown key 'releases'"),
        ("{", "not valid JSON"),
    ],
)
def test_state_is_a_one_line_config_error_when_malformed(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_state(text, where="state.json")
    assert str(caught.value).startswith("state.json: ")
    assert "\n" not in str(caught.value)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_state_file_is_read_at_most_every_200ms_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    clock = FakeClock()
    state = StateFile(path, {"slow"}, clock=clock)
    assert state.release == Release(DEFAULT_VERSION, frozenset({"slow"}))
    _write(path, {"version": "2.0.0", "faults": ["leak"]})
    clock.now = 0.1
    assert state.refresh() is False  # too soon
    clock.now = 0.25
    assert state.refresh() is True
    assert state.release == Release("2.0.0", frozenset({"slow", "leak"}))
    clock.now = 0.5
    assert state.refresh() is False  # unchanged
    path.unlink()
    clock.now = 0.75
    assert state.refresh() is True
    assert state.release == Release(DEFAULT_VERSION, frozenset({"slow"}))
