"""Charts for performance gates, drawn as inline SVG (no JavaScript, nothing fetched from a network).

They read the load result a performance gate attaches as ``gate.details["load"]``::

    {"series": [{"t": 0, "rps": 118.0, "p95": 0.041, "errors": 0}, ...],   # one point per second
     "percentiles": {"p50": 0.012, "p95": 0.041, "p99": 0.090},            # seconds
     "histogram": [[0.010, 412], [0.020, 97], ...]}                       # [latency in s, count]

Every part is optional: a chart whose data is missing is simply not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["errors_chart", "latency_chart", "load_charts", "throughput_chart"]

WIDTH = 520
HEIGHT = 220
MARGIN_LEFT = 56
MARGIN_RIGHT = 56
MARGIN_TOP = 30
MARGIN_BOTTOM = 36
PLOT_W = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
PLOT_H = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

BAR = "#7aa6d6"
RPS = "#2f6db5"
P95 = "#d9822b"
ERRORS = "#c23030"
MARKS = {"p50": "#2e8540", "p95": "#d9822b", "p99": "#c23030"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    if ms == 0:
        return "0"
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


def _short(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}"


def _nice_max(value: float) -> float:
    """A round upper bound for an axis (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        bound = step * 10**exponent
        if bound >= value:
            return float(bound)
    return float(10 ** (exponent + 1))


def _open(title: str, css_class: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="prodgate-chart {css_class}" role="img" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'style="font-family:sans-serif;font-size:11px;background:#fff;border:1px solid #ddd;margin:4px">',
        f"<title>{escape(title)}</title>",
        f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + PLOT_H}" x2="{MARGIN_LEFT + PLOT_W}" y2="{MARGIN_TOP + PLOT_H}" stroke="#444"/>',
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" y2="{MARGIN_TOP + PLOT_H}" stroke="#444"/>',
    ]


def _y_axis(top: float, label: str, *, right: bool = False, color: str = "#444", fmt: Any = _short) -> list[str]:
    x = MARGIN_LEFT + PLOT_W + 4 if right else MARGIN_LEFT - 4
    anchor = "start" if right else "end"
    parts = []
    for fraction in (0, 0.5, 1):
        y = MARGIN_TOP + PLOT_H * (1 - fraction)
        parts.append(
            f'<text x="{x}" y="{y + 4:.1f}" text-anchor="{anchor}" fill="{color}">{escape(fmt(top * fraction))}</text>'
        )
        if not right and fraction:
            parts.append(
                f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{MARGIN_LEFT + PLOT_W}" y2="{y:.1f}" stroke="#eee"/>'
            )
    label_x = WIDTH - 10 if right else 12
    parts.append(
        f'<text x="{label_x}" y="{MARGIN_TOP + PLOT_H / 2}" text-anchor="middle" fill="{color}" '
        f'transform="rotate(-90 {label_x} {MARGIN_TOP + PLOT_H / 2})">{escape(label)}</text>'
    )
    return parts


def _x_label(text: str) -> str:
    return f'<text x="{MARGIN_LEFT + PLOT_W / 2}" y="{HEIGHT - 6}" text-anchor="middle">{escape(text)}</text>'


def _points(series: Sequence[Mapping[str, Any]], key: str) -> list[tuple[float, float]]:
    points = []
    for index, point in enumerate(series):
        if not isinstance(point, Mapping):
            continue
        t = _number(point.get("t"))
        value = _number(point.get(key))
        if key == "rps" and value is None:
            value = _number(point.get("requests"))
        if value is not None:
            points.append((t if t is not None else float(index), value))
    return points


def _x_scale(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    start = min(t for t, _ in points)
    end = max(t for t, _ in points)
    return start, (end - start) or 1.0


def _x_ticks(start: float, span: float) -> list[str]:
    parts = []
    for fraction in (0, 0.5, 1):
        x = MARGIN_LEFT + PLOT_W * fraction
        parts.append(
            f'<text x="{x:.1f}" y="{MARGIN_TOP + PLOT_H + 14}" text-anchor="middle">{_short(start + span * fraction)}</text>'
        )
    return parts


def _percentile_points(percentiles: Mapping[str, Any]) -> list[tuple[float, float]]:
    """``(rank in %, latency in s)`` from keys such as min, p50, p99.9, max; sorted by rank."""
    points = []
    for name, value in percentiles.items():
        latency = _number(value)
        if latency is None or latency < 0:
            continue
        if name == "min":
            rank = 0.0
        elif name == "max":
            rank = 100.0
        elif name.startswith("p"):
            try:
                rank = float(name[1:])
            except ValueError:
                continue
            if not 0 <= rank <= 100:
                continue
        else:
            continue
        points.append((rank, latency))
    return sorted(points)


def latency_chart(histogram: Any = None, percentiles: Any = None, *, label: str = "") -> str | None:
    """Latency distribution with p50/p95/p99 marked; ``None`` without a histogram or percentiles.

    With a histogram: requests per latency bucket. Without one: the percentile curve (latency against
    the share of requests at or under it) from whatever percentiles there are (min, p50, p90, ..., max).
    """
    bins = []
    for pair in histogram if isinstance(histogram, Sequence) and not isinstance(histogram, str) else ():
        if isinstance(pair, Sequence) and len(pair) >= 2:
            latency, count = _number(pair[0]), _number(pair[1])
            if latency is not None and count is not None and latency >= 0 and count >= 0:
                bins.append((latency, count))
    marks = {}
    curve: list[tuple[float, float]] = []
    if isinstance(percentiles, Mapping):
        for name in MARKS:
            value = _number(percentiles.get(name))
            if value is not None and value >= 0:
                marks[name] = value
        curve = _percentile_points(percentiles) if not bins else []
    if not bins and not marks and len(curve) < 2:
        return None
    # One slow outlier (max) would squash the curve against the axis: leave it off the scale, named.
    off_scale = None
    if len(curve) >= 3 and curve[-1][0] == 100.0 and curve[-1][1] > 4 * max(curve[-2][1], marks.get("p99", 0.0)):
        off_scale = curve.pop()[1]
    bins.sort()
    x_top = _nice_max(max([latency for latency, _ in bins] + list(marks.values()) + [v for _, v in curve]) * 1.05)
    title = "Latency distribution" if bins or len(curve) < 2 else "Latency distribution (percentiles)"
    parts = _open(f"{label}{title}", "prodgate-latency")
    if bins or len(curve) < 2:
        y_top = _nice_max(max((count for _, count in bins), default=1))
        parts += _y_axis(y_top, "requests")
        bar_w = max(2.0, PLOT_W / max(len(bins), 1) * 0.8)
        for latency, count in bins:
            x = MARGIN_LEFT + PLOT_W * latency / x_top
            h = PLOT_H * count / y_top
            parts.append(
                f'<rect class="bar" x="{x - bar_w / 2:.1f}" y="{MARGIN_TOP + PLOT_H - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{BAR}"><title>{_ms(latency)}: {_short(count)}</title></rect>'
            )
    else:
        parts += _y_axis(100.0, "% of requests at or under", fmt=lambda v: f"{v:.0f}%")
        coords = " ".join(
            f"{MARGIN_LEFT + PLOT_W * latency / x_top:.1f},{MARGIN_TOP + PLOT_H * (1 - rank / 100):.1f}"
            for rank, latency in curve
        )
        parts.append(f'<polyline class="line line-cdf" points="{coords}" fill="none" stroke="{BAR}" stroke-width="3"/>')
        for rank, latency in curve:
            x, y = MARGIN_LEFT + PLOT_W * latency / x_top, MARGIN_TOP + PLOT_H * (1 - rank / 100)
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{BAR}"><title>{rank:g}%: {_ms(latency)}</title></circle>'
            )
    for offset, (name, value) in enumerate(marks.items()):
        x = MARGIN_LEFT + PLOT_W * value / x_top
        color = MARKS[name]
        parts.append(
            f'<line class="mark mark-{name}" x1="{x:.1f}" y1="{MARGIN_TOP}" x2="{x:.1f}" y2="{MARGIN_TOP + PLOT_H}" '
            f'stroke="{color}" stroke-width="2" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{x + 3:.1f}" y="{MARGIN_TOP + 10 + 12 * offset}" fill="{color}">{name} {_ms(value)}</text>'
        )
    for fraction in (0, 0.5, 1):
        x = MARGIN_LEFT + PLOT_W * fraction
        parts.append(
            f'<text x="{x:.1f}" y="{MARGIN_TOP + PLOT_H + 14}" text-anchor="middle">{_ms(x_top * fraction)}</text>'
        )
    if off_scale is not None:
        parts.append(
            f'<text x="{MARGIN_LEFT + PLOT_W}" y="{MARGIN_TOP + PLOT_H - 6}" text-anchor="end">'
            f"max {_ms(off_scale)} (off scale)</text>"
        )
    parts.append(_x_label("latency"))
    parts.append("</svg>")
    return "".join(parts)


def _polyline(
    points: Sequence[tuple[float, float]], start: float, span: float, top: float, color: str, name: str
) -> str:
    coords = " ".join(
        f"{MARGIN_LEFT + PLOT_W * (t - start) / span:.1f},{MARGIN_TOP + PLOT_H * (1 - value / top):.1f}"
        for t, value in points
    )
    return f'<polyline class="line line-{name}" points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>'


def throughput_chart(series: Any, *, label: str = "") -> str | None:
    """Requests per second (left axis) and p95 latency (right axis) over time."""
    if not isinstance(series, Sequence) or isinstance(series, str):
        return None
    rps = _points(series, "rps")
    p95 = _points(series, "p95")
    if not rps and not p95:
        return None
    start, span = _x_scale(rps + p95)
    parts = _open(f"{label}Requests per second and p95 over time", "prodgate-throughput")
    if rps:
        rps_top = _nice_max(max(v for _, v in rps) * 1.05)
        parts += _y_axis(rps_top, "requests/s", color=RPS)
        parts.append(_polyline(rps, start, span, rps_top, RPS, "rps"))
    if p95:
        p95_top = _nice_max(max(v for _, v in p95) * 1.05)
        parts += _y_axis(p95_top, "p95", right=True, color=P95, fmt=_ms)
        parts.append(_polyline(p95, start, span, p95_top, P95, "p95"))
    parts += _x_ticks(start, span)
    parts.append(_x_label("time (s)"))
    parts.append(
        f'<text x="{MARGIN_LEFT + 6}" y="{MARGIN_TOP + 10}" fill="{RPS}">requests/s</text>'
        f'<text x="{MARGIN_LEFT + 80}" y="{MARGIN_TOP + 10}" fill="{P95}">p95</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def errors_chart(series: Any, *, label: str = "") -> str | None:
    """Errors per second over time (bars); drawn even when every bar is zero, to show there were none."""
    if not isinstance(series, Sequence) or isinstance(series, str):
        return None
    errors = _points(series, "errors")
    if not errors:
        return None
    start, span = _x_scale(errors)
    top = _nice_max(max(v for _, v in errors))
    parts = _open(f"{label}Errors over time ({_short(sum(v for _, v in errors))} in all)", "prodgate-errors")
    parts += _y_axis(top, "errors/s", color=ERRORS)
    bar_w = max(2.0, PLOT_W / max(len(errors), 1) * 0.7)
    for t, value in errors:
        x = MARGIN_LEFT + PLOT_W * (t - start) / span
        h = PLOT_H * value / top
        parts.append(
            f'<rect class="bar" x="{x - bar_w / 2:.1f}" y="{MARGIN_TOP + PLOT_H - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="{ERRORS}"><title>{_short(t)} s: {_short(value)}</title></rect>'
        )
    parts += _x_ticks(start, span)
    parts.append(_x_label("time (s)"))
    parts.append("</svg>")
    return "".join(parts)


def load_results(details: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """The load results in a gate's ``details``: ``(scope, result)``, ``scope`` "" for ``"load"`` and
    ``NAME`` for ``"load.NAME"`` (a gate that ran several, with scoped figures)."""
    if not isinstance(details, Mapping):
        return []
    found = []
    for key in sorted(k for k in details if k == "load" or (isinstance(k, str) and k.startswith("load."))):
        if isinstance(details[key], Mapping):
            found.append((key[5:], details[key]))
    return found


def load_charts(details: Any) -> list[str]:
    """Every chart the load results in a gate's ``details`` have the data for, as SVG strings.

    A load result is under ``"load"``, or under ``"load.NAME"`` when the gate ran several (scoped figures);
    the charts of a named one carry its name in their titles.
    """
    charts: list[str | None] = []
    for scope, load in load_results(details):
        label = f"{scope}: " if scope else ""
        series = load.get("series")
        charts += [
            latency_chart(load.get("histogram"), load.get("percentiles"), label=label),
            throughput_chart(series, label=label),
            errors_chart(series, label=label),
        ]
    return [chart for chart in charts if chart]
