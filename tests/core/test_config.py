"""[tool.prodgate]: validation errors that name key and file, environments, merging."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_prodgate.config import deep_merge, load_config
from pytest_prodgate.errors import ConfigError, ThresholdError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    return path


def test_environment_table_overrides_the_base_when_chosen(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[tool.prodgate]
base_url = "http://127.0.0.1:8000"
secrets = ["API_TOKEN"]
[tool.prodgate.performance]
thresholds = ["p95 < 500ms"]
[tool.prodgate.environments.production]
base_url = "https://shop.example"
[tool.prodgate.environments.production.performance]
thresholds = ["p95 < 300ms"]
""",
    )
    base = load_config(path, None, env={})
    assert base.environment is None and base.get("base_url") == "http://127.0.0.1:8000"
    production = load_config(path, "production", env={})
    assert production.environment == "production"
    assert production.get("base_url") == "https://shop.example"
    assert production.section("performance")["thresholds"] == ["p95 < 300ms"]
    assert production.get("secrets") == ["API_TOKEN"]
    assert production.environments == ("production",)


def test_environment_comes_from_prodgate_env_when_not_given(tmp_path: Path) -> None:
    path = write(tmp_path, '[tool.prodgate.environments.staging]\nbase_url = "http://staging"\n')
    assert load_config(path, None, env={"PRODGATE_ENV": "staging"}).get("base_url") == "http://staging"


def test_unknown_environment_names_the_known_ones_when_chosen(tmp_path: Path) -> None:
    path = write(tmp_path, "[tool.prodgate.environments.staging]\n[tool.prodgate.environments.production]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, "prod", env={})
    assert str(info.value) == (
        f"{path}: unknown environment 'prod' (known: production, staging); define [tool.prodgate.environments.prod]"
    )


def test_unknown_key_is_named_with_the_file_and_a_suggestion_when_misspelt(tmp_path: Path) -> None:
    path = write(tmp_path, '[tool.prodgate]\nbaseurl = "http://x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, None, env={})
    assert str(info.value) == f"{path}: [tool.prodgate]: unknown key 'baseurl' (did you mean 'base_url'?)"


def test_wrong_type_names_key_and_expected_type_when_given(tmp_path: Path) -> None:
    path = write(tmp_path, '[tool.prodgate.environments.production]\ndemo = "yes"\n')
    with pytest.raises(
        ConfigError, match=r"\[tool\.prodgate\.environments\.production\.demo\] must be true or false, got 'yes'"
    ):
        load_config(path, None, env={})


def test_malformed_threshold_names_its_place_when_in_config(tmp_path: Path) -> None:
    path = write(tmp_path, '[tool.prodgate.performance]\nthresholds = ["p95 < 500ms", "p95 < fast"]\n')
    with pytest.raises(ThresholdError) as info:
        load_config(path, None, env={})
    message = str(info.value)
    assert "'p95 < fast'" in message and str(path) in message and "thresholds][1]" in message
    assert "'fast' is not a duration" in message


def test_invalid_toml_is_a_config_error_when_read(tmp_path: Path) -> None:
    path = write(tmp_path, "[tool.prodgate\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, None, env={})


def test_missing_file_gives_empty_settings_when_loaded(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.toml", None, env={})
    assert config.settings == {} and config.environment is None


def test_deep_merge_merges_tables_and_replaces_lists_when_overriding() -> None:
    merged = deep_merge({"a": {"x": 1, "y": [1]}, "b": 1}, {"a": {"y": [2]}, "c": 3})
    assert merged == {"a": {"x": 1, "y": [2]}, "b": 1, "c": 3}
