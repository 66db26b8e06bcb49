"""The wanted side of a threshold relative to a baseline: ``baseline * 1.10``, ``max(baseline * 1.1, baseline + 5ms)``.

A *bound* is a small arithmetic expression over the word ``baseline`` (the same figure, measured by the
baseline run of the same gate) and numbers with units: ``+ - * /``, parentheses, ``max(...)`` and
``min(...)``. ``thresholds.parse_threshold`` hands the text after the comparison here when it names
``baseline``; judging asks ``Bound.limit(baseline_value)`` for the wanted value in base units.

Units are checked as in the rest of the language: an amount added to a duration needs a unit
(``baseline + 20ms``), a factor has none (``baseline * 1.1``).

``BaselineScope`` is what a judge knows of the baseline for one gate: its figures (or why there are
none) and what a threshold on a missing baseline figure becomes (a warning by default, never a pass).
The pytest glue makes it current for the duration of a test (``active_baseline``), so thresholds judged
by any family's engine inside the test see it without being handed it.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

__all__ = ["BaselineScope", "Bound", "active_baseline", "current_baseline", "parse_bound", "uses_baseline"]

# One token: a number with an optional unit glued on, a word, a symbol, or anything else (an error).
_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?P<unit>\s*[A-Za-zµ%][A-Za-zµ%/]*)?"
    r"|(?P<word>[A-Za-z_]\w*)|(?P<sym>[-+*/(),])|(?P<other>\S+))"
)
_TRIGGER = re.compile(r"\bbaseline\b")
FUNCTIONS: dict[str, Callable[..., float]] = {"max": max, "min": min}


def uses_baseline(text: str) -> bool:
    """Whether a threshold's wanted side is relative to the baseline (names the word ``baseline``)."""
    return _TRIGGER.search(text) is not None


@dataclass(frozen=True)
class _Node:
    """One node of a bound: ``kind`` is number, baseline, op or call."""

    kind: str
    value: float = 0.0
    name: str = ""  # the operator or function
    args: tuple[_Node, ...] = ()
    scalar: bool = False  # a bare number or a product of them: a factor, not an amount of the figure

    def evaluate(self, baseline: float) -> float:
        if self.kind == "number":
            return self.value
        if self.kind == "baseline":
            return baseline
        values = [arg.evaluate(baseline) for arg in self.args]
        if self.kind == "call":
            return float(FUNCTIONS[self.name](*values))
        left, right = values
        if self.name == "+":
            return left + right
        if self.name == "-":
            return left - right
        if self.name == "*":
            return left * right
        return left / right if right else math.inf


@dataclass(frozen=True)
class Bound:
    """A wanted value relative to the baseline; ``text`` as written, ``unit`` the first unit in it."""

    text: str
    node: _Node
    unit: str = ""

    def limit(self, baseline: float) -> float:
        """The wanted value (base units) given the baseline's value of the figure."""
        return self.node.evaluate(baseline)

    def __str__(self) -> str:
        return self.text


# (kind of the figure, display unit, factor) of a unit as written; None when it is not a unit.
UnitLookup = Callable[[str], "tuple[str, float, str] | None"]


class _Parser:
    """Recursive descent over ``expr := term (+|- term)*; term := factor (*|/ factor)*``."""

    def __init__(
        self, text: str, offset: int, lookup: UnitLookup, figure_kind: str, fail: Callable[[str, str, int], Exception]
    ) -> None:
        self.text, self.offset, self.lookup, self.kind, self.fail = text, offset, lookup, figure_kind, fail
        self.tokens: list[tuple[str, str, str, int]] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                break
            kind = match.lastgroup or "other"
            if kind == "unit":
                kind = "number"
            value = match.group(kind)
            unit = (match.group("unit") or "").strip() if kind == "number" else ""
            self.tokens.append((kind, value, unit, offset + match.start(kind)))
            pos = match.end()
        self.index = 0
        self.first_unit = ""

    def peek(self) -> tuple[str, str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str, str, int]:
        token = self.peek()
        if token is None:
            raise self.fail(self.text, "the expression ends too early. Expected e.g. 'baseline * 1.1'", -1)
        self.index += 1
        return token

    def amount(self, node: _Node, column: int) -> _Node:
        """``node`` used as an amount of the figure: a bare number is one only where the figure has no unit."""
        if node.scalar and self.kind == "duration":
            raise self.fail(
                _text_of(node), f"{_text_of(node)!r} needs a unit here: the figure is a duration (e.g. 20ms)", column
            )
        return _Node(node.kind, node.value, node.name, node.args, scalar=False)

    def expression(self) -> _Node:
        node = self.term()
        while (token := self.peek()) is not None and token[0] == "sym" and token[1] in "+-":
            self.index += 1
            right = self.term()
            node = _Node("op", name=token[1], args=(self.amount(node, token[3]), self.amount(right, token[3])))
        return node

    def term(self) -> _Node:
        node = self.factor()
        while (token := self.peek()) is not None and token[0] == "sym" and token[1] in "*/":
            self.index += 1
            right = self.factor()
            if not right.scalar:
                raise self.fail(token[1], f"a factor after {token[1]!r} has no unit (e.g. 'baseline * 1.1')", token[3])
            node = _Node("op", name=token[1], args=(node, right), scalar=node.scalar)
        return node

    def factor(self) -> _Node:
        kind, value, unit, column = self.take()
        if kind == "number":
            number = float(value)
            if not math.isfinite(number):
                raise self.fail(value, f"{value!r} is not a finite number", column)
            if not unit:
                return _Node("number", number, scalar=True)
            spec = self.lookup(unit)
            if spec is None:
                raise self.fail(unit, f"{unit!r} is not a unit. Expected one of ms, s, m, h, d, %, KB, MB, GB", column)
            unit_kind, factor, display = spec
            if self.kind not in ("any", unit_kind):
                raise self.fail(unit, f"{unit!r} does not fit the figure, which is a {self.kind}", column)
            self.first_unit = self.first_unit or display
            return _Node("number", number * factor)
        if kind == "word" and value == "baseline":
            return _Node("baseline")
        if kind == "word" and value in FUNCTIONS:
            opening = self.take()
            if opening[1] != "(":
                raise self.fail(opening[1], f"expected '(' after {value!r}", opening[3])
            args = [self.amount(self.expression(), column)]
            while (token := self.take())[1] == ",":
                args.append(self.amount(self.expression(), token[3]))
            if token[1] != ")":
                raise self.fail(token[1], f"expected ',' or ')' in {value}(...), not {token[1]!r}", token[3])
            return _Node("call", name=value, args=tuple(args))
        if kind == "sym" and value == "(":
            node = self.expression()
            closing = self.take()
            if closing[1] != ")":
                raise self.fail(closing[1], f"expected ')', not {closing[1]!r}", closing[3])
            return node
        if kind == "sym" and value == "-":
            inner = self.factor()
            return _Node("op", name="-", args=(_Node("number", 0.0, scalar=inner.scalar), inner), scalar=inner.scalar)
        raise self.fail(
            value,
            f"{value!r} is not a number, 'baseline', max(...) or min(...). Expected e.g. 'baseline * 1.1'",
            column,
        )


def _text_of(node: _Node) -> str:
    return f"{node.value:g}" if node.kind == "number" else node.kind


def _mentions_baseline(node: _Node) -> bool:
    return node.kind == "baseline" or any(_mentions_baseline(arg) for arg in node.args)


def parse_bound(
    text: str, *, offset: int, lookup: UnitLookup, figure_kind: str, fail: Callable[[str, str, int], Exception]
) -> Bound:
    """Parse the wanted side ``text`` (which starts at column ``offset`` of the threshold).

    ``fail(token, reason, column)`` makes the exception to raise; ``figure_kind`` is the figure's kind
    (``duration``, ``fraction``, ``bytes``, ``number`` or ``any``).
    """
    parser = _Parser(text, offset, lookup, figure_kind, fail)
    node = parser.amount(parser.expression(), offset)
    rest = parser.peek()
    if rest is not None:
        raise fail(rest[1], f"unexpected {rest[1]!r} after the value", rest[3])
    if not _mentions_baseline(node):
        raise fail(text, "a computed value must mention 'baseline'", offset)
    return Bound(text=" ".join(text.split()), node=node, unit=parser.first_unit)


@dataclass(frozen=True)
class BaselineScope:
    """What is known of the baseline for one gate.

    ``figures`` is ``None`` when there is nothing to compare with; ``absent`` then says why (no baseline
    report was given; the report has no gate matching this one). ``matched`` names the baseline gate and
    the rule that matched it. ``missing`` is the verdict of a threshold whose baseline figure is absent:
    ``warning`` (default), ``fail`` or ``error``.
    """

    figures: Mapping[str, float | None] | None = None
    absent: str = "no baseline report was given (--prodgate-baseline PATH)"
    matched: str = ""
    source: str = ""
    missing: str = "warning"
    rule: str = ""  # how the baseline gate was matched: "node id", "renamed", "moved", "parameters"

    def to_dict(self, figures: Mapping[str, float | None]) -> dict[str, object]:
        """The JSON form for one gate: what was matched and, per figure, the baseline value and delta."""
        per_figure: dict[str, dict[str, float | None]] = {}
        for name, measured in figures.items():
            base, _ = self.value(name)
            delta = change = None
            if base is not None and measured is not None and math.isfinite(measured):
                delta = measured - base
                change = delta / abs(base) if base else None
            per_figure[name] = {"baseline": base, "delta": delta, "change": change}
        return {
            "source": self.source,
            "matched": self.matched or None,
            "rule": self.rule or None,
            "absent": None if self.figures is not None else self.absent,
            "figures": per_figure,
        }

    def value(self, key: str) -> tuple[float | None, str]:
        """The baseline's value of figure ``key``, or ``None`` and why it has none."""
        if self.figures is None:
            return None, self.absent
        value = self.figures.get(key)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            where = f" ({self.matched})" if self.matched else ""
            return None, f"the baseline gate{where} has no figure {key!r}"
        return float(value), ""


_ACTIVE: contextvars.ContextVar[BaselineScope | None] = contextvars.ContextVar("prodgate_baseline", default=None)


def current_baseline() -> BaselineScope | None:
    """The baseline of the gate being run, if the glue made one current."""
    return _ACTIVE.get()


@contextlib.contextmanager
def active_baseline(scope: BaselineScope | None) -> Iterator[None]:
    """Make ``scope`` the baseline every threshold judged inside the block compares with."""
    token = _ACTIVE.set(scope)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
