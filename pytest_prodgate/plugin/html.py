"""pytest-html integration (controller only): the gate summary on top, gate columns, each gate's detail.

Registered by ``plugin/report.py`` when ``--html`` is given and this process is not an xdist worker,
the way pytest-html registers its own reporter. The report glue hands it what it needs (the run's
gate report, its redactor, the charts setting) as callables, so this module imports nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.redact import Redactor

from pytest_prodgate.report.htmlparts import (
    charts_section_html,
    gate_cells,
    gate_detail_html,
    header_cells,
    summary_html,
)


class HtmlGateReport:
    """pytest-html hooks; gate entries arrive on each report as ``report.prodgate`` (already masked)."""

    def __init__(
        self,
        report_of: Callable[[int], dict[str, Any]],
        redactor_of: Callable[[], Redactor],
        charts: Callable[[], bool],
        target_of: Callable[[], str | None] = lambda: None,
        metadata_of: Callable[[], dict[str, Any] | None] = lambda: None,
    ) -> None:
        self.report_of = report_of  # exit status -> the JSON gate report so far, masked
        self.redactor_of = redactor_of
        self.charts = charts
        self.target_of = target_of  # the target as the terminal shows it (the demo's URL included)
        self.metadata_of = metadata_of  # pytest-metadata's table, which pytest-html shows as "Environment"

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Fill in the environment table's empty "Base URL" (the demo starts after pytest-base-url read it)."""
        metadata = self.metadata_of()
        target = self.target_of()
        if metadata is not None and target and not metadata.get("Base URL"):
            metadata["Base URL"] = target

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        report = self.report_of(int(session.exitstatus))
        if report["gates"]:
            prefix.append(summary_html(report))
            if self.charts():  # above pytest-html's table, never collapsed: what a reviewer sees first
                prefix.append(charts_section_html(report))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells[2:2] = header_cells()

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        cells[2:2] = gate_cells(getattr(report, "prodgate", None))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Attach each gate's thresholds, figures and charts as an HTML extra (before pytest-html reads it)."""
        from pytest_html import extras

        redactor = self.redactor_of()
        for extra in getattr(report, "extras", []):  # extras a test added itself (text, JSON, HTML, URLs)
            if (
                isinstance(extra, dict)
                and extra.get("format_type") != "image"
                and isinstance(extra.get("content"), (str, dict, list))
            ):
                extra["content"] = redactor.data(extra["content"])
        entry = getattr(report, "prodgate", None)
        if entry is None:
            return

        detail = gate_detail_html(entry, charts=self.charts())
        report.extras = [*getattr(report, "extras", []), extras.html(detail)]  # type: ignore[attr-defined]
