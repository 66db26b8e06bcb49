"""The one threshold language every gate family is judged by.

A threshold reads ``[scope:] figure operator number[unit]``, for example ``p95 < 500ms``,
``error_rate < 1%``, ``rps >= 10``, ``days_left > 14``, ``search: p95 < 300ms`` or
``growth_per_100 < 10MB``. The wanted side may instead be relative to the baseline run's value of the
same figure (``p95 < baseline * 1.1``, ``p95 < max(baseline * 1.1, baseline + 5ms)``; see ``bounds.py``). Figures are plain numbers in base units (seconds, bytes,
fractions, per second); a unit is only how a person writes the wanted value, and the
measured value is shown back in the same unit: ``p95 = 812 ms, wanted < 500 ms``.
"""

from __future__ import annotations

import enum
import functools
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_prodgate.errors import ThresholdError

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.bounds import BaselineScope, Bound

__all__ = [
    "Kind",
    "Threshold",
    "ThresholdResult",
    "Verdict",
    "evaluate",
    "figure_kind",
    "format_change",
    "format_value",
    "parse_duration",
    "parse_threshold",
    "parse_thresholds",
]


class Verdict(str, enum.Enum):
    """The outcome of judging a gate or one threshold."""

    PASS = "pass"
    FAIL = "fail"
    WARNING = "warning"
    ERROR = "error"
    SKIP = "skip"

    def __str__(self) -> str:
        return self.value


class Kind(str, enum.Enum):
    """What a figure measures, which decides the units a threshold on it may use."""

    DURATION = "duration"
    FRACTION = "fraction"
    BYTES = "bytes"
    RATE = "rate"
    NUMBER = "number"
    ANY = "any"


# unit (lower-cased as written) -> (kind, factor to base units, display spelling)
_UNITS: dict[str, tuple[Kind, float, str]] = {
    "ns": (Kind.DURATION, 1e-9, "ns"),
    "us": (Kind.DURATION, 1e-6, "us"),
    "µs": (Kind.DURATION, 1e-6, "µs"),
    "ms": (Kind.DURATION, 1e-3, "ms"),
    "s": (Kind.DURATION, 1.0, "s"),
    "m": (Kind.DURATION, 60.0, "m"),
    "min": (Kind.DURATION, 60.0, "min"),
    "h": (Kind.DURATION, 3600.0, "h"),
    "d": (Kind.DURATION, 86400.0, "d"),
    "%": (Kind.FRACTION, 0.01, "%"),
    "b": (Kind.BYTES, 1.0, "B"),
    "kb": (Kind.BYTES, 1024.0, "KB"),
    "mb": (Kind.BYTES, 1024.0**2, "MB"),
    "gb": (Kind.BYTES, 1024.0**3, "GB"),
    "kib": (Kind.BYTES, 1024.0, "KiB"),
    "mib": (Kind.BYTES, 1024.0**2, "MiB"),
    "gib": (Kind.BYTES, 1024.0**3, "GiB"),
    "/s": (Kind.RATE, 1.0, "/s"),
    "/min": (Kind.RATE, 1 / 60, "/min"),
    "/m": (Kind.RATE, 1 / 60, "/m"),
    "/h": (Kind.RATE, 1 / 3600, "/h"),
}

# Figures people read in whole units: ``days_left`` (5.04 is shown as 5, the figure keeps 5.04).
_WHOLE_FIGURES = frozenset({"days_left"})

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}

# Name patterns -> kind, first match wins. Custom figures that match none accept any unit.
# (Compiled on first use, in ``_patterns``: a run that judges nothing does not pay for them.)
_KIND_SOURCES: list[tuple[str, Kind]] = [
    (r"^(p\d+(\.\d+)?|min|max|avg|mean|median|stddev|iqr|latency|duration)$", Kind.DURATION),
    (r"(_time|_latency|_duration|_age|_lag)$", Kind.DURATION),
    (r"^(rps|ops)$|_rps$|_per_second$", Kind.RATE),
    (r"^(requests|iterations|errors|violations|rows|dropped|days_left|vus)$", Kind.NUMBER),
    (r"(_rate|_ratio|_share|_cpu)$|^(cpu|memory|disk|coverage|fds_used)$", Kind.FRACTION),
    (r"^(rss|vms)$|^growth_per_\d+$|_bytes$|^(memory_growth|disk_free)$", Kind.BYTES),
    (r"^(count|total|open_fds|fds|status)$|_count$", Kind.NUMBER),
]

_TOKEN_SOURCE = r"""\s*(?:
        (?P<op><=|>=|==|!=|<|>|=)
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<word>[A-Za-zµ_%][\w.%/-]*|%)
      | (?P<colon>:)
      | (?P<other>\S+)
    )"""


@functools.cache
def _patterns() -> tuple[list[tuple[re.Pattern[str], Kind]], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(kind patterns, token, name, scope), compiled once."""
    kinds = [(re.compile(source), kind) for source, kind in _KIND_SOURCES]
    token = re.compile(_TOKEN_SOURCE, re.VERBOSE)
    return kinds, token, re.compile(r"^[A-Za-z_][\w.]*$"), re.compile(r"^[A-Za-z_][\w./-]*$")


_EXAMPLES = {
    Kind.DURATION: "e.g. 500ms or 2s",
    Kind.FRACTION: "e.g. 1% or 0.01",
    Kind.BYTES: "e.g. 10MB or 512KB",
    Kind.RATE: "e.g. 100/s or 100",
    Kind.NUMBER: "e.g. 10 or 0",
    Kind.ANY: "e.g. 10, 500ms or 1%",
}


def figure_kind(name: str) -> Kind:
    """What a figure named ``name`` measures, judged by its name (``p95`` is a duration)."""
    parts = name.split(".")
    # ``search.p95`` and ``p99.9`` both work: try the longest tail that matches a pattern.
    for start in range(len(parts)):
        candidate = ".".join(parts[start:])
        for pattern, kind in _patterns()[0]:
            if pattern.search(candidate):
                return kind
    return Kind.ANY


@dataclass(frozen=True)
class Threshold:
    """A parsed threshold: ``figure op value`` with ``value`` in base units."""

    expression: str
    figure: str
    op: str
    value: float
    unit: str = ""
    scope: str | None = None
    bound: Bound | None = None  # the wanted value relative to the baseline (``value`` is then NaN)

    @property
    def key(self) -> str:
        """The name of the figure this threshold reads (``search.p95`` when scoped)."""
        return f"{self.scope}.{self.figure}" if self.scope else self.figure

    @property
    def kind(self) -> Kind:
        return figure_kind(self.figure)

    def wanted(self, limit: float | None = None) -> str:
        """The wanted side as a person wrote it: ``< 500 ms``; ``< 63 ms (baseline * 1.5)`` once resolved."""
        if self.bound is None:
            return f"{self.op} {format_value(self.value, self.unit, self.kind)}"
        if limit is None:
            return f"{self.op} {self.bound.text}"
        return f"{self.op} {format_value(limit, self.unit, self.kind)} ({self.bound.text})"

    def holds(self, measured: float, limit: float | None = None) -> bool:
        return _OPERATORS[self.op](measured, self.value if limit is None else limit)

    def shown(self, measured: float) -> str:
        """The measured value as messages show it: in the threshold's unit, ``days_left`` in whole days.

        Whole days are the days completed (5.04 and 5.9 show as 5), unless that would tell a
        different story than the precise figure (14.3 against ``> 14``): then it keeps its decimals.
        """
        if self.figure in _WHOLE_FIGURES and not self.unit and math.isfinite(measured):
            whole = float(math.floor(measured))
            if self.holds(whole) == self.holds(measured):
                return format_value(whole, self.unit, self.kind)
        return format_value(measured, self.unit, self.kind)

    @property
    def relative(self) -> bool:
        """Whether the wanted value comes from the baseline (``p95 < baseline * 1.1``)."""
        return self.bound is not None

    def judge(self, figures: Mapping[str, float], baseline: BaselineScope | None = None) -> ThresholdResult:
        """Judge this threshold against recorded figures; a missing figure is an error.

        A threshold relative to the baseline reads the baseline's value of its figure from ``baseline``,
        or from the one the glue made current (``bounds.active_baseline``); without one it is not judged
        and its verdict is the scope's ``missing`` verdict (a warning by default), never a pass.
        """
        label = f"{self.scope}: {self.figure}" if self.scope else self.figure
        if self.key not in figures:
            recorded = sorted(figures)
            import difflib  # only for a missing figure's hint

            hint = difflib.get_close_matches(self.key, recorded, n=1)
            message = f"{label}: no figure {self.key!r} was recorded"
            if hint:
                message += f" (did you mean {hint[0]!r}?)"
            else:
                message += f" (recorded: {', '.join(recorded) or 'none'})"
            return ThresholdResult(self, Verdict.ERROR, None, message)
        measured = figures[self.key]
        try:
            measured = float(measured)
        except (TypeError, ValueError):
            return ThresholdResult(self, Verdict.ERROR, None, f"{label}: recorded value {measured!r} is not a number")
        shown = self.shown(measured)
        if math.isnan(measured):
            return ThresholdResult(
                self, Verdict.ERROR, measured, f"{label} = {shown}, wanted {self.wanted()}: not a number"
            )
        if self.bound is not None:
            return self._judge_relative(label, measured, shown, baseline)
        verdict = Verdict.PASS if self.holds(measured) else Verdict.FAIL
        return ThresholdResult(self, verdict, measured, f"{label} = {shown}, wanted {self.wanted()}")

    def _judge_relative(
        self, label: str, measured: float, shown: str, baseline: BaselineScope | None
    ) -> ThresholdResult:
        from pytest_prodgate.bounds import BaselineScope, current_baseline

        assert self.bound is not None
        scope = baseline or current_baseline() or BaselineScope()
        base, why = scope.value(self.key)
        if base is None:
            verdict = Verdict(scope.missing)
            message = f"{label} = {shown}, wanted {self.wanted()}: not compared, {why}"
            return ThresholdResult(self, verdict, measured, message)
        limit = self.bound.limit(base)
        verdict = Verdict.PASS if self.holds(measured, limit) else Verdict.FAIL
        was = format_value(base, self.unit, self.kind)
        message = f"{label} = {shown}, wanted {self.wanted(limit)}; baseline {was}, {format_change(measured, base)}"
        return ThresholdResult(self, verdict, measured, message, baseline=base, limit=limit)

    def __str__(self) -> str:
        return self.expression


@dataclass(frozen=True)
class ThresholdResult:
    """One threshold judged: its verdict, the measured value (base units) and a message."""

    threshold: Threshold
    verdict: Verdict
    measured: float | None
    message: str
    baseline: float | None = None  # the baseline's value of the figure, for a threshold relative to it
    limit: float | None = None  # the wanted value the baseline gave

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def to_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold.expression,
            "figure": self.threshold.key,
            "verdict": self.verdict.value,
            "measured": self.measured,
            "wanted": self.threshold.wanted(self.limit),
            "message": self.message,
            "baseline": self.baseline,
        }


def format_change(measured: float, baseline: float) -> str:
    """The change from ``baseline`` to ``measured``: ``▲ +233%``, ``▼ -12%``, ``= 0%`` (``▲`` when it grew)."""
    if baseline == 0:
        return "= 0%" if measured == 0 else ("▲ from 0" if measured > 0 else "▼ from 0")
    change = (measured - baseline) / abs(baseline) * 100
    if abs(change) < 0.05:
        return "= 0%"
    arrow = "▲" if change > 0 else "▼"
    return f"{arrow} {change:+.1f}%" if abs(change) < 10 else f"{arrow} {change:+.0f}%"


def format_value(value: float, unit: str = "", kind: Kind = Kind.ANY) -> str:
    """Show a base-unit value in ``unit`` (``0.812`` in ms is ``812 ms``), three significant digits."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if not unit:
        if kind is Kind.FRACTION:
            unit = "%"
        elif kind is Kind.DURATION:
            unit = "ms" if abs(value) < 1 else "s"
        elif kind is Kind.BYTES and abs(value) >= 1024:
            unit = "MB" if abs(value) >= 1024**2 else "KB"
        elif kind is Kind.RATE:
            unit = "/s"
    factor = _UNITS[unit.lower()][1] if unit else 1.0
    shown = value / factor
    if shown == int(shown) and abs(shown) < 1e15:
        text = str(int(shown))
    elif abs(shown) >= 100:
        text = f"{shown:.0f}"
    else:
        text = f"{shown:.3g}"  # three significant digits; scientific notation only for tiny values
    if unit.startswith("/"):
        return f"{text}{unit}"  # a rate reads 16.4/s
    return f"{text} {unit}" if unit else text


def parse_duration(text: str | float | int, *, what: str = "duration") -> float:
    """Parse ``500ms``, ``2s``, ``1.5m`` or a bare number of seconds into seconds."""
    if isinstance(text, bool):
        raise ThresholdError(str(text), str(text), f"{text!r} is not a {what}. Expected e.g. 500ms or 2s")
    if isinstance(text, (int, float)):
        return float(text)
    match = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*([A-Za-zµ]*)\s*", text)
    if match:
        number, unit = match.groups()
        if not unit:
            return float(number)
        spec = _UNITS.get(unit.lower())
        if spec and spec[0] is Kind.DURATION:
            return float(number) * spec[1]
    raise ThresholdError(text, text, f"{text!r} is not a {what}. Expected e.g. 500ms or 2s")


def _tokens(expression: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(expression):
        match = _patterns()[1].match(expression, pos)
        if not match or match.end() == pos:
            break
        kind = match.lastgroup or "other"
        out.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return out


def parse_threshold(expression: str, *, where: str | None = None) -> Threshold:
    """Parse one threshold expression; a mistake raises ``ThresholdError`` naming the bad token."""
    if not isinstance(expression, str):
        raise ThresholdError(
            repr(expression), repr(expression), "a threshold must be a string such as 'p95 < 500ms'", where=where
        )
    text = expression.strip()

    def fail(token: str, reason: str, column: int | None = None) -> ThresholdError:
        return ThresholdError(text, token, reason, column=column, where=where)

    if not text:
        raise fail("", "empty threshold. Expected e.g. 'p95 < 500ms'")
    tokens = _tokens(text)
    scope: str | None = None
    if len(tokens) >= 2 and tokens[1][0] == "colon":
        if tokens[0][0] != "word" or not _patterns()[3].match(tokens[0][1]):
            raise fail(tokens[0][1], f"{tokens[0][1]!r} is not a scenario name", tokens[0][2])
        scope = tokens[0][1]
        tokens = tokens[2:]
    if not tokens:
        raise fail(text, "missing the figure. Expected e.g. 'p95 < 500ms'")
    kind, name, column = tokens[0]
    if kind != "word" or not _patterns()[2].match(name):
        raise fail(name, f"{name!r} is not a figure name. Expected e.g. p95, error_rate or rps", column)
    if len(tokens) < 2:
        raise fail(name, f"missing a comparison after {name!r}. Expected one of < <= > >= == !=")
    kind, op, column = tokens[1]
    if kind != "op":
        raise fail(op, f"{op!r} is not a comparison. Expected one of < <= > >= == !=", column)
    if op == "=":
        raise fail(op, "'=' is not a comparison. Did you mean '=='?", column)
    figure_is = figure_kind(name)
    example = _EXAMPLES[figure_is]
    if len(tokens) < 3:
        raise fail(op, f"missing the wanted value after {op!r}. Expected {example}")
    kind, raw, column = tokens[2]
    if uses_baseline_text(text[column:]):
        from pytest_prodgate.bounds import parse_bound

        bound = parse_bound(
            text[column:],
            offset=column,
            lookup=_unit_lookup,
            figure_kind=figure_is.value,
            fail=lambda token, reason, at: fail(token, reason, at if at >= 0 else None),
        )
        return Threshold(expression=text, figure=name, op=op, value=math.nan, unit=bound.unit, scope=scope, bound=bound)
    unit = ""
    rest = tokens[3:]
    if kind == "word" and re.match(r"^[-+]?\d", raw) is None:
        # A word where the number should be: ``p95 < fast``.
        noun = "a duration" if figure_is is Kind.DURATION else "a number"
        raise fail(raw, f"{raw!r} is not {noun}. Expected {example}", column)
    if kind != "number":
        raise fail(raw, f"{raw!r} is not a number. Expected {example}", column)
    number = float(raw)
    if rest and (rest[0][0] == "word" or (rest[0][0] == "other" and rest[0][1].startswith("/"))):
        unit = rest[0][1]  # ``500ms``, ``1%``, ``100/s``
        rest = rest[1:]
    if rest:
        raise fail(rest[0][1], f"unexpected {rest[0][1]!r} after the value", rest[0][2])
    if not math.isfinite(number):
        raise fail(raw, f"{raw!r} is not a finite number", column)
    value = number
    display = ""
    if unit:
        spec = _UNITS.get(unit.lower()) if unit != "M" else None
        if spec is None:
            raise fail(unit, f"{unit!r} is not a unit. Expected one of ms, s, m, h, d, %, KB, MB, GB, /s")
        unit_kind, factor, display = spec
        if figure_is not in (Kind.ANY, unit_kind):
            raise fail(unit, f"{unit!r} does not fit {name!r}, which is a {figure_is.value}. Expected {example}")
        value = number * factor
    elif figure_is is Kind.DURATION:
        raise fail(raw, f"{raw!r} needs a unit: {name!r} is a duration. Expected {example}", column)
    return Threshold(expression=text, figure=name, op=op, value=value, unit=display, scope=scope)


def uses_baseline_text(text: str) -> bool:
    """Whether a threshold's wanted side names ``baseline`` (checked without importing ``bounds``)."""
    return "baseline" in text and re.search(r"\bbaseline\b", text) is not None


def _unit_lookup(unit: str) -> tuple[str, float, str] | None:
    """(kind, factor, display) of a unit as written in a relative bound, or None."""
    spec = _UNITS.get(unit.lower()) if unit != "M" else None
    return (spec[0].value, spec[1], spec[2]) if spec else None


def parse_thresholds(expressions: Iterable[str] | str, *, where: str | None = None) -> tuple[Threshold, ...]:
    """Parse a list of thresholds (a single string counts as a list of one)."""
    if isinstance(expressions, str):
        expressions = [expressions]
    try:
        items = list(expressions)
    except TypeError:
        raise ThresholdError(
            repr(expressions),
            repr(expressions),
            "thresholds must be a list of strings such as ['p95 < 500ms']",
            where=where,
        ) from None
    return tuple(parse_threshold(item, where=where) for item in items)


def evaluate(thresholds: Sequence[Threshold | str], figures: Mapping[str, float]) -> list[ThresholdResult]:
    """Judge each threshold against the recorded figures, in order."""
    parsed = [t if isinstance(t, Threshold) else parse_threshold(t) for t in thresholds]
    return [t.judge(figures) for t in parsed]
