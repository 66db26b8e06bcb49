"""The charts a reviewer sees first: each performance gate's latency percentiles, throughput and errors over
time, and its status codes, with the baseline drawn over them (inline SVG, nothing fetched).

Axes are scaled to the data: a latency axis spans what was measured (and the baseline), with round
ticks (1, 2, 5 x 10^n), and turns logarithmic when the values span more than two decades, so 1.3 ms
and 2.6 ms curves do not sit on the axis of a 200 ms scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

__all__ = ["Scale", "latency_over_time_chart", "rate_over_time_chart", "scale_for", "status_chart"]

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 136, 30, 38
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
LINES = {"p50": "#2e8540", "p95": "#d9822b", "p99": "#c23030", "rps": "#2f6db5", "errors": "#c23030"}
BASELINE = "#6a3d9a"
STATUS_COLORS = {"2": "#2e8540", "3": "#2f6db5", "4": "#d9822b", "5": "#c23030"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _nice_step(span: float, count: int = 5) -> float:
    raw = span / max(count, 1)
    exponent = math.floor(math.log10(raw)) if raw > 0 else 0
    for step in (1, 2, 2.5, 5, 10):
        if step * 10**exponent >= raw:
            return float(step * 10**exponent)
    return float(10 ** (exponent + 1))


@dataclass(frozen=True)
class Scale:
    """A vertical axis: ``y(value)`` in pixels, and its ticks."""

    low: float
    high: float
    log: bool
    ticks: tuple[float, ...]

    def y(self, value: float) -> float:
        if self.log:
            value = max(value, self.low)
            share = (math.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        else:
            share = (value - self.low) / ((self.high - self.low) or 1.0)
        return TOP + PLOT_H * (1 - min(max(share, 0.0), 1.0))


def scale_for(values: Sequence[float], *, zero: bool = True) -> Scale:
    """A scale for ``values``: linear from 0 (or near the data) with round ticks; log past two decades."""
    positive = [v for v in values if v > 0]
    if not positive:
        return Scale(0.0, 1.0, False, (0.0, 0.5, 1.0))
    low, high = min(positive), max(positive)
    if high / low > 100:
        bottom, top = 10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high))
        ticks: list[float] = []
        decade = bottom
        while decade <= top * 1.0001:
            ticks += [decade * m for m in ((1, 2, 5) if top / bottom <= 1e3 else (1,)) if decade * m <= top * 1.0001]
            decade *= 10
        return Scale(bottom, top, True, tuple(ticks))
    step = _nice_step(high - (0 if zero else low))
    start = 0.0 if zero or low - step < 0 else math.floor(low / step) * step
    end = math.ceil(high * 1.0001 / step) * step
    if end <= high:
        end += step
    linear = tuple(start + i * step for i in range(int(round((end - start) / step)) + 1))
    return Scale(start, end, False, linear)


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    if ms == 0:
        return "0"
    if ms >= 100:
        return f"{ms:.0f} ms"
    return f"{ms:.3g} ms"


def _count(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.3g}k"
    return f"{value:g}" if value == int(value) else f"{value:.3g}"


def _open(title: str, css: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="prodgate-chart {css}" role="img" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'style="font-family:sans-serif;font-size:11px;background:#fff;border:1px solid #ddd;margin:4px">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]


def _axes(scale: Scale, fmt: Callable[[float], str], label: str) -> list[str]:
    parts = []
    for tick in scale.ticks:
        y = scale.y(tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + PLOT_W}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(tick))}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PLOT_H}" stroke="#444"/>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{LEFT + PLOT_W}" y2="{TOP + PLOT_H}" stroke="#444"/>')
    middle = TOP + PLOT_H / 2
    text = label + (" (log scale)" if scale.log else "")
    parts.append(
        f'<text x="12" y="{middle}" text-anchor="middle" transform="rotate(-90 12 {middle})">{escape(text)}</text>'
    )
    return parts


def _time_axis(start: float, span: float) -> list[str]:
    step = _nice_step(span, 6) if span > 0 else 1.0
    parts = []
    tick = math.ceil(start / step) * step
    while tick <= start + span + 1e-9:
        x = LEFT + PLOT_W * ((tick - start) / span if span else 0)
        parts.append(f'<text x="{x:.1f}" y="{TOP + PLOT_H + 14}" text-anchor="middle">{_count(round(tick, 3))}</text>')
        tick += step
    parts.append(f'<text x="{LEFT + PLOT_W / 2}" y="{HEIGHT - 6}" text-anchor="middle">time (s)</text>')
    return parts


def _series(series: Any, key: str) -> list[tuple[float, float]]:
    points = []
    if isinstance(series, Sequence) and not isinstance(series, str):
        for index, point in enumerate(series):
            if isinstance(point, Mapping):
                value = _number(point.get(key))
                t = _number(point.get("t"))
                if value is not None:
                    points.append((t if t is not None else float(index), value))
    return points


def _line(points: list[tuple[float, float]], start: float, span: float, scale: Scale, color: str, name: str) -> str:
    coords = " ".join(f"{LEFT + PLOT_W * ((t - start) / span if span else 0):.1f},{scale.y(v):.1f}" for t, v in points)
    dots = "".join(
        f'<circle cx="{LEFT + PLOT_W * ((t - start) / span if span else 0):.1f}" cy="{scale.y(v):.1f}" r="2.5" '
        f'fill="{color}"/>'
        for t, v in points
    )
    return (
        f'<polyline class="line line-{name}" points="{coords}" fill="none" stroke="{color}" stroke-width="2.5"/>' + dots
    )


def _baseline_line(value: float, scale: Scale, text: str) -> str:
    y = scale.y(value)
    return (
        f'<line class="baseline" x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + PLOT_W}" y2="{y:.1f}" stroke="{BASELINE}" '
        f'stroke-width="1.5" stroke-dasharray="6 4"/>'
        f'<text x="{LEFT + PLOT_W + 4}" y="{y + 4:.1f}" fill="{BASELINE}">{escape(text)}</text>'
    )


def _legend(entries: Sequence[tuple[str, str]]) -> str:
    parts = []
    x = LEFT + 200
    for name, color in entries:
        parts.append(f'<rect x="{x}" y="9" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 13}" y="18" fill="{color}">{escape(name)}</text>')
        x += 14 + 7 * len(name) + 12
    return "".join(parts)


def latency_over_time_chart(
    series: Any, baseline: Mapping[str, float | None] | None = None, *, label: str = ""
) -> str | None:
    """p50, p95 and p99 per second of the run, the baseline's p50/p95/p99 as dashed lines."""
    lines = {name: _series(series, name) for name in ("p50", "p95", "p99")}
    lines = {name: points for name, points in lines.items() if points}
    if not lines:
        return None
    base = {n: v for n in ("p50", "p95", "p99") if (v := _number((baseline or {}).get(n))) is not None and v > 0}
    every = [v for points in lines.values() for _, v in points] + list(base.values())
    scale = scale_for(every)
    times = [t for points in lines.values() for t, _ in points]
    start, span = min(times), (max(times) - min(times))
    parts = _open(f"{label}Latency percentiles over time", "prodgate-latency-time")
    parts += _axes(scale, _ms, "latency")
    for name, value in base.items():
        parts.append(_baseline_line(value, scale, f"baseline {name} {_ms(value)}"))
    for name, points in lines.items():
        parts.append(_line(points, start, span, scale, LINES[name], name))
    parts += _time_axis(start, span)
    legend = [(name, LINES[name]) for name in lines] + ([("baseline", BASELINE)] if base else [])
    parts.append(_legend(legend))
    parts.append("</svg>")
    return "".join(parts)


def rate_over_time_chart(
    series: Any, key: str, *, baseline: float | None = None, label: str = "", unit: str = "per second"
) -> str | None:
    """Requests (``rps``) or errors per second over time, with the baseline's rate dashed."""
    points = _series(series, key)
    if not points:
        return None
    values = [v for _, v in points] + ([baseline] if baseline is not None else [])
    scale = scale_for(values or [1.0])
    if scale.high <= 0:
        scale = Scale(0.0, 1.0, False, (0.0, 0.5, 1.0))
    start, span = points[0][0], points[-1][0] - points[0][0]
    title = "Requests per second" if key == "rps" else f"Errors per second ({_count(sum(v for _, v in points))} in all)"
    parts = _open(f"{label}{title}", f"prodgate-{key}-time")
    parts += _axes(scale, _count, key if key == "rps" else "errors/s")
    if baseline is not None:
        parts.append(_baseline_line(baseline, scale, f"baseline {_count(round(baseline, 1))}"))
    parts.append(_line(points, start, span, scale, LINES.get(key, "#444"), key))
    parts += _time_axis(start, span)
    parts.append("</svg>")
    return "".join(parts)


def status_chart(scenarios: Any, *, label: str = "") -> str | None:
    """Responses by status code and failures by kind (connect, timeout...), all scenarios together."""
    counts: dict[str, float] = {}
    if not isinstance(scenarios, Mapping):
        return None
    for scenario in scenarios.values():
        if not isinstance(scenario, Mapping):
            continue
        for code, n in (scenario.get("status") or {}).items():
            if (value := _number(n)) is not None:
                counts[str(code)] = counts.get(str(code), 0) + value
        for kind, n in (scenario.get("errors") or {}).items():
            if (value := _number(n)) is not None and not str(kind).isdigit() and str(kind) not in ("4xx", "5xx"):
                counts[str(kind)] = counts.get(str(kind), 0) + value
    if not counts:
        return None
    total = sum(counts.values()) or 1.0
    rows = sorted(counts.items(), key=lambda kv: (not kv[0].isdigit(), kv[0]))
    height = TOP + 22 * len(rows) + 16
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="prodgate-chart prodgate-status" role="img" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'style="font-family:sans-serif;font-size:11px;background:#fff;border:1px solid #ddd;margin:4px">',
        f"<title>{escape(label)}Responses by status</title>",
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{escape(label)}Responses by status</text>',
    ]
    widest = max(counts.values())
    for index, (name, n) in enumerate(rows):
        y = TOP + 22 * index
        color = STATUS_COLORS.get(name[0], "#5a5a5a") if name.isdigit() else "#8a1c1c"
        width = max(1.0, (PLOT_W - 40) * n / widest)
        parts.append(f'<text x="{LEFT - 6}" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
        parts.append(
            f'<rect class="bar status-{escape(name)}" x="{LEFT}" y="{y + 3}" width="{width:.1f}" height="16" fill="{color}"/>'
        )
        parts.append(f'<text x="{LEFT + width + 6:.1f}" y="{y + 15}">{_count(n)} ({100 * n / total:.3g}%)</text>')
    parts.append("</svg>")
    return "".join(parts)
