"""HTML fragments for the pytest-html report: the gate summary, the gate columns, each gate's detail.

Plain Python over gate entries (already redacted); ``report/plugin.py`` hands them to pytest-html's hooks.
Everything is inline (styles, SVG charts): the report needs nothing from a network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from pytest_prodgate.families import FAMILIES
from pytest_prodgate.report.charts import load_charts, load_results
from pytest_prodgate.report.timecharts import latency_over_time_chart, rate_over_time_chart, status_chart
from pytest_prodgate.thresholds import Kind, figure_kind, format_change, format_value
from pytest_prodgate.verdict import shown_reason

__all__ = ["STYLE", "charts_section_html", "gate_cells", "gate_detail_html", "header_cells", "summary_html"]

COLORS = {"pass": "#2e8540", "fail": "#c23030", "error": "#8a1c1c", "warning": "#b36b00", "skip": "#5a5a5a"}
VERDICTS = ("fail", "error", "skip", "warning", "pass")

STYLE = """<style>
.prodgate-summary{margin:8px 0 12px;font-size:13px}
.prodgate-summary h3{margin:6px 0}
.prodgate-summary table,.prodgate-detail table{border-collapse:collapse;margin:4px 0 8px}
.prodgate-summary th,.prodgate-summary td,.prodgate-detail th,.prodgate-detail td{border:1px solid #ccc;padding:2px 8px;text-align:left}
.prodgate-verdict{font-weight:bold;text-transform:uppercase}
.prodgate-verdict.pass{color:#2e8540}.prodgate-verdict.fail{color:#c23030}
.prodgate-verdict.error{color:#8a1c1c}.prodgate-verdict.warning{color:#b36b00}.prodgate-verdict.skip{color:#5a5a5a}
.prodgate-charts{display:flex;flex-wrap:wrap}
.prodgate-chart-gate{margin:10px 0 4px;font-size:14px}
.prodgate-worse{color:#c23030;font-weight:bold}.prodgate-better{color:#2e8540}
</style>"""


def verdict_span(verdict: str) -> str:
    return f'<span class="prodgate-verdict {escape(verdict)}">{escape(verdict.upper())}</span>'


def _family_rank(entry: Mapping[str, Any]) -> tuple[int, str, str]:
    family = entry.get("family") or ""
    rank = FAMILIES.index(family) if family in FAMILIES else len(FAMILIES)
    return rank, family, entry.get("nodeid", "")


def summary_html(report: Mapping[str, Any]) -> str:
    """The block at the top: overall result, counts per family and verdict, warnings and failures."""
    summary = report.get("summary", {})
    gates = sorted(report.get("gates", []), key=_family_rank)
    run = report.get("run", {})
    passed = bool(summary.get("passed", not summary.get("blocking_failures")))
    headline = "Gates passed" if passed else "Gates did not pass"
    parts = [STYLE, '<div class="prodgate-summary" id="prodgate-summary">']
    parts.append(
        f'<h3 style="color:{COLORS["pass"] if passed else COLORS["fail"]}">{headline}: '
        + escape(", ".join(f"{summary.get(v, 0)} {v}" for v in VERDICTS if summary.get(v)) or "no gates")
        + "</h3>"
    )
    if summary.get("reason"):
        parts.append(f'<p class="prodgate-reason">{escape(str(summary["reason"]))}</p>')
    target = [
        f"{k.replace('_', ' ')} <code>{escape(str(run[k]))}</code>"
        for k in ("environment", "base_url", "git_commit")
        if run.get(k)
    ]
    if target:
        parts.append("<p>" + ", ".join(target) + "</p>")
    families: dict[str, dict[str, int]] = {}
    for gate in gates:
        counts = families.setdefault(gate.get("family") or "-", {})
        counts[gate.get("verdict", "")] = counts.get(gate.get("verdict", ""), 0) + 1
    if families:
        parts.append(
            '<table class="prodgate-families"><tr><th>Family</th>'
            + "".join(f"<th>{v}</th>" for v in VERDICTS)
            + "</tr>"
        )
        for family, counts in families.items():
            cells = "".join(f"<td>{counts.get(v, 0) or ''}</td>" for v in VERDICTS)
            parts.append(f"<tr><td>{escape(family)}</td>{cells}</tr>")
        parts.append("</table>")
        parts.append(
            '<table class="prodgate-gates"><tr><th>Gate</th><th>Family</th><th>Verdict</th><th>Deciding figure</th></tr>'
        )
        for gate in gates:
            parts.append(
                f"<tr><td>{escape(gate.get('name', ''))}</td><td>{escape(gate.get('family') or '')}</td>"
                f"<td>{verdict_span(gate.get('verdict', ''))}</td><td>{escape(shown_reason(gate))}</td></tr>"
            )
        parts.append("</table>")
    warned = [g for g in gates if g.get("verdict") == "warning"]
    if warned:
        parts.append("<p><b>Warnings (non-blocking)</b></p><ul>")
        parts += [f"<li>{escape(g.get('nodeid', ''))}: {escape(g.get('decided_by') or '')}</li>" for g in warned]
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def header_cells() -> list[str]:
    """The three column headers pytest-html adds after its own (family, verdict, deciding figure)."""
    return [
        '<th class="sortable" data-column-type="family">Family</th>',
        '<th class="sortable" data-column-type="verdict">Verdict</th>',
        "<th>Deciding figure</th>",
    ]


def gate_cells(entry: Mapping[str, Any] | None) -> list[str]:
    """The three cells of a row; empty for a test that is not a gate."""
    if not entry:
        return ['<td class="col-family"></td>', '<td class="col-verdict"></td>', '<td class="col-decided"></td>']
    return [
        f'<td class="col-family">{escape(entry.get("family") or "")}</td>',
        f'<td class="col-verdict">{verdict_span(entry.get("verdict", ""))}</td>',
        f'<td class="col-decided">{escape(shown_reason(entry))}</td>',
    ]


def _show(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else escape(str(value))
    kind = figure_kind(name)
    return escape(format_value(float(value), "%" if kind is Kind.FRACTION else "", kind))


def _thresholds_table(results: Iterable[Mapping[str, Any]]) -> str:
    results = list(results)
    relative = any(r.get("baseline") is not None for r in results)
    rows = []
    for r in results:
        figure = str(r.get("figure", ""))
        cells = [
            f"<td><code>{escape(str(r.get('threshold', '')))}</code></td>",
            f"<td>{_show(figure, r.get('measured'))}</td>",
            f"<td>{escape(str(r.get('wanted', '')))}</td>",
        ]
        if relative:
            cells.append(f"<td>{_show(figure, r.get('baseline'))}</td>")
        cells.append(f"<td>{verdict_span(str(r.get('verdict', '')))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    if not rows:
        return ""
    head = "<tr><th>Threshold</th><th>Measured</th><th>Wanted</th>" + ("<th>Baseline</th>" if relative else "")
    head += "<th>Verdict</th></tr>"
    return f'<table class="prodgate-thresholds">{head}{"".join(rows)}</table>'


def _change_cell(value: Any, delta: Mapping[str, Any]) -> str:
    base = delta.get("baseline")
    if not isinstance(value, (int, float)) or not isinstance(base, (int, float)):
        return "<td></td>"
    return f"<td>{escape(format_change(float(value), float(base)))}</td>"


def _figures_table(figures: Mapping[str, Any], baseline: Mapping[str, Any] | None = None) -> str:
    if not figures:
        return ""
    deltas = (baseline or {}).get("figures") or {}
    if not deltas:
        rows = "".join(f"<tr><td>{escape(n)}</td><td>{_show(n, v)}</td></tr>" for n, v in figures.items())
        return f'<table class="prodgate-figures"><tr><th>Figure</th><th>Value</th></tr>{rows}</table>'
    rows = "".join(
        f"<tr><td>{escape(n)}</td><td>{_show(n, v)}</td><td>{_show(n, (deltas.get(n) or {}).get('baseline'))}</td>"
        f"{_change_cell(v, deltas.get(n) or {})}</tr>"
        for n, v in figures.items()
    )
    head = "<tr><th>Figure</th><th>Value</th><th>Baseline</th><th>Change</th></tr>"
    return f'<table class="prodgate-figures">{head}{rows}</table>'


def gate_detail_html(entry: Mapping[str, Any], *, charts: bool = True) -> str:
    """A gate's detail: its thresholds with measured values, its figures, and for load results the charts."""
    parts = [STYLE, '<div class="prodgate-detail">']
    parts.append(
        f"<p><b>{escape(entry.get('family') or '')} gate</b> ({escape(entry.get('severity', 'blocking'))}): "
        f"{verdict_span(entry.get('verdict', ''))} {escape(entry.get('decided_by') or '')}</p>"
    )
    parts.append(_thresholds_table(entry.get("thresholds") or []))
    parts.append(_figures_table(entry.get("figures") or {}, entry.get("baseline")))
    svgs = load_charts(entry.get("details")) if charts else []
    if svgs:
        parts.append('<div class="prodgate-charts">' + "".join(svgs) + "</div>")
    parts.append("</div>")
    return "".join(parts)


def _baseline_figures(gate: Mapping[str, Any], prefix: str = "") -> dict[str, float | None]:
    figures = (gate.get("baseline") or {}).get("figures") or {}
    out = {}
    for name, delta in figures.items():
        if isinstance(delta, Mapping) and name.startswith(prefix):
            out[name[len(prefix) :]] = delta.get("baseline")
    return out


def gate_charts(gate: Mapping[str, Any]) -> list[str]:
    """A performance gate's charts over time (each load result it ran), the baseline overlaid."""
    charts: list[str | None] = []
    for scope, load in load_results(gate.get("details")):
        label = f"{scope}: " if scope else ""
        base = _baseline_figures(gate, f"{scope}." if scope else "")
        rps = base.get("rps")
        charts += [
            latency_over_time_chart(load.get("series"), base, label=label),
            rate_over_time_chart(load.get("series"), "rps", baseline=rps, label=label),
            rate_over_time_chart(load.get("series"), "errors", label=label),
            status_chart(load.get("scenarios"), label=label),
        ]
    return [chart for chart in charts if chart]


def charts_section_html(report: Mapping[str, Any]) -> str:
    """The charts section under the summary: every gate with load results, failing gates first, never collapsed."""
    gates = sorted(
        report.get("gates", []), key=lambda g: (VERDICTS.index(g.get("verdict", "pass")), g.get("nodeid", ""))
    )
    parts = []
    for gate in gates:
        charts = gate_charts(gate)
        if not charts:
            continue
        parts.append(
            f'<h4 class="prodgate-chart-gate">{escape(gate.get("name", ""))} {verdict_span(gate.get("verdict", ""))} '
            f"<small>{escape(shown_reason(gate))}</small></h4>"
        )
        parts.append('<div class="prodgate-charts">' + "".join(charts) + "</div>")
    if not parts:
        return ""
    return (
        '<div class="prodgate-charts-section" id="prodgate-charts"><h3>Performance charts</h3>'
        + "".join(parts)
        + "</div>"
    )
