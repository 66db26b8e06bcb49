"""Masking secrets inside failure representations, sections and metadata; the core stays pytest-free."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_prodgate.redact import MASK, Redactor
from pytest_prodgate.report.masking import mask_in_place, mask_metadata, mask_pairs, secret_setting_values

REDACTOR = Redactor(env={"SECRET_KEY": "s3cr3t-XYZ", "DATABASE_URL": "postgresql://app:pw-ABC@db/x"})


def failing_repr() -> object:
    def boom() -> None:
        raise AssertionError("key s3cr3t-XYZ and postgresql://app:pw-ABC@db/x")

    with pytest.raises(AssertionError) as info:
        boom()
    return info.getrepr(showlocals=True, style="long", chain=True)


def test_traceback_keeps_its_shape_when_secrets_are_masked() -> None:
    longrepr = failing_repr()
    assert "s3cr3t-XYZ" in str(longrepr)
    masked = mask_in_place(longrepr, REDACTOR)
    text = str(masked)
    assert masked is longrepr
    assert "s3cr3t-XYZ" not in text and "pw-ABC" not in text
    assert f"key {MASK} and postgresql://app:{MASK}@db/x" in text
    assert longrepr.reprcrash is not None and "s3cr3t-XYZ" not in longrepr.reprcrash.message  # type: ignore[attr-defined]


def test_sections_and_properties_are_masked_when_they_hold_secrets() -> None:
    pairs = [("Captured stdout call", "printed s3cr3t-XYZ"), ("api_key", "plain"), ("prodgate.figure.p95", 0.04)]
    assert mask_pairs(pairs, REDACTOR) == [
        ("Captured stdout call", f"printed {MASK}"),
        ("api_key", MASK),
        ("prodgate.figure.p95", 0.04),
    ]


def test_metadata_table_is_masked_when_keys_or_values_are_secret() -> None:
    metadata = {
        "Python": "3.11",
        "CI_JOB_TOKEN": "abc",
        "Base URL": "postgresql://app:pw-ABC@db/x",
        "Packages": {"AUTH_X": "y"},
    }
    mask_metadata(metadata, REDACTOR)
    assert metadata == {
        "Python": "3.11",
        "CI_JOB_TOKEN": MASK,
        "Base URL": f"postgresql://app:{MASK}@db/x",
        "Packages": {"AUTH_X": MASK},
    }


def test_secret_named_settings_are_found_when_nested() -> None:
    settings = {"secrets": ["X"], "readiness": {"api_token": "t0k3n", "timeout": "2s"}, "password": 3}
    assert secret_setting_values(settings) == ["t0k3n"]


def test_report_core_imports_when_pytest_is_unavailable() -> None:
    modules = ["charts", "jsonreport", "markdown", "htmlparts", "masking", "serial", "config"]
    code = "import sys; sys.modules['pytest'] = None\n" + "\n".join(
        f"import pytest_prodgate.report.{m}" for m in modules
    )
    code += "\nimport pytest_prodgate.report"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
