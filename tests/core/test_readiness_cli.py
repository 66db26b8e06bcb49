"""``prodgate readiness``: the checks of a pyproject.toml without pytest; exit codes 0, 1 and 4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_prodgate.cli import main


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(body)
    return path


def test_cli_exits_0_and_prints_summary_when_every_check_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path,
        f"""
[tool.prodgate.readiness]
checks = ["database", "env"]
[tool.prodgate.readiness.database]
url = "sqlite:///{tmp_path / "app.db"}"
[tool.prodgate.readiness.env.required]
PATH = "str"
""",
    )

    code = main(["readiness", "--config", str(config)])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].startswith("readiness::database PASS  sqlite:///") and "answered SELECT 1 in" in out[0]
    assert out[1] == "readiness::env PASS  1 required variable(s) set and valid"


def test_cli_exits_1_with_one_line_per_problem_when_a_check_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    monkeypatch.setenv("SECRET_KEY", "changeme")
    config = write_config(
        tmp_path,
        """
[tool.prodgate.readiness.env.required]
SECRET_KEY = "secret"
[tool.prodgate.environments.production.readiness.env.required]
SENTRY_DSN = "dsn"
""",
    )

    code = main(["readiness", "--config", str(config), "--env", "production", "--check", "env"])

    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        "readiness::env FAIL",
        "  - [env.missing] 1 required variable(s) not set: SENTRY_DSN",
        "  - [env.placeholder] SECRET_KEY (secret) is a placeholder",
    ]


def test_cli_prints_json_results_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, "[tool.prodgate.readiness]\n")

    code = main(["readiness", "--config", str(config), "--check", "system", "--json"])

    document = json.loads(capsys.readouterr().out)
    assert code in (0, 1)  # the machine's load decides; the figures are what this test reads
    assert {"cpu", "memory", "disk", "open_fds"} <= set(document["system"]["figures"])


def test_cli_exits_4_naming_the_key_when_configuration_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, '[tool.prodgate.readiness]\nchecks = ["database"]\n')

    code = main(["readiness", "--config", str(config)])

    assert code == 4
    assert "[tool.prodgate.readiness.database] url is required by 'database'" in capsys.readouterr().err


def test_cli_exits_4_when_no_check_is_switched_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, "[tool.prodgate]\n")

    assert main(["readiness", "--config", str(config)]) == 4
    assert "no readiness check is switched on in" in capsys.readouterr().err
