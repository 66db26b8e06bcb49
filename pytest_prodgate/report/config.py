"""``[tool.prodgate.report]``: where the reports go and what they hold.

```toml
[tool.prodgate.report]
json = "reports/gates.json"        # like --prodgate-json
markdown = "reports/gates.md"      # like --prodgate-markdown
step_summary = true                # also append the Markdown to $GITHUB_STEP_SUMMARY when set
charts = true                      # SVG charts for performance gates in the HTML report
max_rows = 50                      # rows of the Markdown table before it is cut
serial_performance = true          # under pytest-xdist, run performance gates one at a time
```
Command-line options and ini keys (``prodgate_json``, ``prodgate_markdown``) win over this table.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULTS", "SCHEMA"]

SCHEMA: dict[str, Any] = {
    "json": str,
    "markdown": str,
    "step_summary": bool,
    "charts": bool,
    "max_rows": int,
    "serial_performance": bool,
}

DEFAULTS: dict[str, Any] = {
    "json": None,
    "markdown": None,
    "step_summary": True,
    "charts": True,
    "max_rows": 50,
    "serial_performance": True,
}
