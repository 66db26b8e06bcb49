"""Reports of a gate run: the JSON gate report, the Markdown summary, HTML fragments and SVG charts.

Plain Python (never imports pytest); ``report/plugin.py`` wires it into pytest, pytest-html,
JUnit XML and pytest-xdist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_prodgate.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.report.charts import load_charts
    from pytest_prodgate.report.jsonreport import (
        SCHEMA_NAME,
        SCHEMA_VERSION,
        build_report,
        load_schema,
        passes_gates,
        read_report,
        summarize,
        write_report,
    )
    from pytest_prodgate.report.markdown import append_step_summary, render_markdown

__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "append_step_summary",
    "build_report",
    "load_charts",
    "load_schema",
    "passes_gates",
    "read_report",
    "render_markdown",
    "summarize",
    "write_report",
]

# Each submodule (and its engine) is imported when one of its names is first used.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".charts": ("load_charts",),
        ".jsonreport": (
            "SCHEMA_NAME",
            "SCHEMA_VERSION",
            "build_report",
            "load_schema",
            "passes_gates",
            "read_report",
            "summarize",
            "write_report",
        ),
        ".markdown": ("append_step_summary", "render_markdown"),
    },
)
