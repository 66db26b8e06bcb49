"""``[tool.prodgate.report]``: where the reports go and what they hold.

```toml
[tool.prodgate.report]
json = "reports/gates.json"        # like --prodgate-json
markdown = "reports/gates.md"      # like --prodgate-markdown
step_summary = true                # also append the Markdown to $GITHUB_STEP_SUMMARY when set
charts = true                      # SVG charts for performance gates in the HTML report
max_rows = 50                      # rows of the Markdown table before it is cut
serial_performance = true          # under pytest-xdist, run performance gates one at a time
baseline = "reports/main.json"     # like --prodgate-baseline: the gate report to compare with
baseline_missing = "warning"       # a relative threshold without a baseline figure: warning, fail or error
baseline_renamed = {"tests/test_new.py::test_a" = "tests/test_old.py::test_a"}
```
Command-line options and ini keys (``prodgate_json``, ``prodgate_markdown``, ``prodgate_baseline``) win
over this table; an environment's ``[tool.prodgate.environments.NAME.report]`` overrides it key by key.
"""

from __future__ import annotations

from typing import Any

from pytest_prodgate.config import OneOf, TableOf

__all__ = ["DEFAULTS", "SCHEMA"]

SCHEMA: dict[str, Any] = {
    "json": str,
    "markdown": str,
    "step_summary": bool,
    "charts": bool,
    "max_rows": int,
    "serial_performance": bool,
    "baseline": str,
    "baseline_missing": OneOf("warning", "fail", "error"),
    "baseline_renamed": TableOf(str),
}

DEFAULTS: dict[str, Any] = {
    "json": None,
    "markdown": None,
    "step_summary": True,
    "charts": True,
    "max_rows": 50,
    "serial_performance": True,
    "baseline": None,
    "baseline_missing": "warning",
    "baseline_renamed": {},
}
