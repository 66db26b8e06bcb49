"""A small path syntax for conditions on JSON bodies: ``checks.database.status == "ok"``.

A condition reads ``path [operator value]``: the path is dot-separated keys, where a number
indexes a list (``items.0.id > 3``); the value is a JSON literal (``"ok"``, ``3``, ``true``,
``null``; single quotes work too); with no operator the condition only asks that the path exists
(``checks.database``). Operators: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_prodgate.errors import ConfigError, MissingPath

__all__ = ["ConditionOutcome", "JsonCondition", "MissingPath", "parse_condition", "parse_conditions", "resolve"]

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_CONDITION = re.compile(r"^\s*(?P<path>[^\s=!<>]+)\s*(?:(?P<op>==|!=|<=|>=|<|>|=)\s*(?P<value>.*?))?\s*$")
_SEGMENT = re.compile(r"^[\w$@:-]+$")


@dataclass(frozen=True)
class ConditionOutcome:
    """One condition judged against a document: whether it held and a message with the actual value."""

    condition: JsonCondition
    passed: bool
    actual: Any
    message: str


@dataclass(frozen=True)
class JsonCondition:
    """``path op expected``, parsed; ``op`` is ``None`` for a condition that only asks the path exists."""

    expression: str
    path: tuple[str, ...]
    op: str | None = None
    expected: Any = None

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def evaluate(self, document: Any) -> ConditionOutcome:
        try:
            actual = resolve(document, self.path)
        except MissingPath as exc:
            return ConditionOutcome(self, False, None, f"{self.dotted}: {exc}")
        shown = _show(actual)
        if self.op is None:
            return ConditionOutcome(self, True, actual, f"{self.dotted} = {shown}")
        wanted = f"{self.op} {_show(self.expected)}"
        if self.op in ("<", "<=", ">", ">=") and not _comparable(actual, self.expected):
            return ConditionOutcome(self, False, actual, f"{self.dotted} = {shown}, wanted {wanted} (cannot compare)")
        passed = bool(_OPERATORS[self.op](actual, self.expected))
        message = f"{self.dotted} = {shown}" + ("" if passed else f", wanted {wanted}")
        return ConditionOutcome(self, passed, actual, message)

    def __str__(self) -> str:
        return self.expression


def _comparable(actual: Any, expected: Any) -> bool:
    numbers = (int, float)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return False
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        return True
    return isinstance(actual, str) and isinstance(expected, str)


def _show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def resolve(document: Any, path: Sequence[str]) -> Any:
    """The value at ``path`` in ``document``; raises ``MissingPath`` naming the first missing segment."""
    current = document
    for depth, segment in enumerate(path):
        here = ".".join(path[:depth]) or "the document"
        if isinstance(current, dict):
            if segment not in current:
                keys = ", ".join(sorted(map(str, current))[:10]) or "none"
                raise MissingPath(f"no key {segment!r} in {here} (keys: {keys})")
            current = current[segment]
        elif isinstance(current, list):
            if not re.fullmatch(r"-?\d+", segment):
                raise MissingPath(f"{here} is a list; {segment!r} is not an index")
            index = int(segment)
            if not -len(current) <= index < len(current):
                raise MissingPath(f"index {index} is out of range in {here} ({len(current)} items)")
            current = current[index]
        else:
            raise MissingPath(f"{here} is {_show(current)}, not an object or a list")
    return current


def parse_condition(expression: str, *, where: str | None = None) -> JsonCondition:
    """Parse ``checks.database.status == "ok"``; a mistake is a ``ConfigError`` naming the bad part."""

    def fail(reason: str) -> ConfigError:
        return ConfigError(f"JSON condition {expression!r}: {reason}", where=where)

    if not isinstance(expression, str) or not expression.strip():
        raise ConfigError(
            f"JSON condition {expression!r}: expected a string such as 'checks.database.status == \"ok\"'",
            where=where,
        )
    match = _CONDITION.match(expression)
    if not match:
        raise fail("expected 'path operator value', e.g. 'items.0.id > 3'")
    path = tuple(match["path"].split("."))
    for segment in path:
        if not _SEGMENT.match(segment):
            raise fail(f"{segment!r} is not a path segment (keys and list indexes joined by dots)")
    op = match["op"]
    if op is None:
        return JsonCondition(expression.strip(), path)
    if op == "=":
        raise fail("'=' is not a comparison. Did you mean '=='?")
    raw = match["value"]
    if not raw:
        raise fail(f'missing the value after {op!r}. Expected a JSON value such as "ok", 3 or true')
    return JsonCondition(expression.strip(), path, op, _literal(raw, fail))


def _literal(raw: str, fail: Callable[[str], ConfigError]) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        pass
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    raise fail(f'{raw!r} is not a JSON value. Quote strings: "{raw}"')


def parse_conditions(expressions: Sequence[str] | str, *, where: str | None = None) -> tuple[JsonCondition, ...]:
    if isinstance(expressions, str):
        expressions = [expressions]
    return tuple(parse_condition(text, where=where) for text in expressions)
