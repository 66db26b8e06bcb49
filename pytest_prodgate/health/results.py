"""What a probe saw: each attempt, the last response, expectations on it, and the failure message.

Plain Python. A failure message shows what was wanted, the attempt history (time offset, status
or error kind, latency) and the last response (status, headers with secrets masked, body cut
to a readable length), so a person can act on it without rerunning anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_prodgate.errors import ProbeFailed
from pytest_prodgate.health.jsonpath import JsonCondition, parse_conditions
from pytest_prodgate.redact import Redactor, mask_headers
from pytest_prodgate.thresholds import Threshold, ThresholdResult, format_value, parse_threshold

__all__ = ["BODY_LIMIT", "Attempt", "Expectation", "ProbeFailed", "ProbeResult", "Response", "missed_only"]

BODY_LIMIT = 500
HISTORY_HEAD = 5
HISTORY_TAIL = 10
REPORT_HEAD, REPORT_TAIL = 20, 80


def missed_only(results: Sequence[ThresholdResult]) -> tuple[ThresholdResult, ...]:
    """Threshold results for a failure, or none when every threshold passed.

    The plugin derives a failed gate's verdict from the results it carries; a probe that failed on
    its status while its latency threshold passed must not look like a pass.
    """
    return tuple(results) if any(not r.passed for r in results) else ()


@dataclass(frozen=True)
class Attempt:
    """One request of a probe: when it started (seconds after the first), what came back, how long it took."""

    number: int
    offset: float
    latency: float
    status: int | None = None
    error: str | None = None
    detail: str = ""

    @property
    def outcome(self) -> str:
        return str(self.status) if self.status is not None else (self.error or "no answer")

    def line(self) -> str:
        latency = format_value(self.latency, "ms")
        text = f"#{self.number:<3} +{self.offset:7.3f} s  {self.outcome:<18} {latency:>9}"
        return f"{text}  {self.detail}".rstrip() if self.detail else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "offset": round(self.offset, 6),
            "latency": round(self.latency, 6),
            "status": self.status,
            "error": self.error,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Response:
    """The parts of an HTTP response a probe keeps (headers as pairs: Set-Cookie may repeat)."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    http_version: str = "HTTP/1.1"

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ProbeResult:
    """Every attempt of one probe and the last response it got (``None`` when none answered)."""

    method: str
    url: str
    attempts: list[Attempt] = field(default_factory=list)
    response: Response | None = None
    total_time: float = 0.0
    stop_reason: str = ""
    redactor: Redactor | None = None

    # -- what the last response said ------------------------------------------------------------
    @property
    def status(self) -> int | None:
        return self.response.status if self.response else None

    @property
    def latency(self) -> float | None:
        return self.attempts[-1].latency if self.attempts else None

    @property
    def headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.response.headers} if self.response else {}

    @property
    def text(self) -> str:
        return self.response.text if self.response else ""

    def json(self) -> Any:
        if self.response is None:
            raise self.failure(["no response to read JSON from"])
        try:
            return self.response.json()
        except ValueError:
            raise self.failure(["the body is not JSON"]) from None

    @property
    def figures(self) -> dict[str, float]:
        """``latency`` (last attempt, seconds), ``status``, ``attempts`` and ``total_time``."""
        figures: dict[str, float] = {}
        if self.latency is not None:
            figures["latency"] = self.latency
        if self.status is not None:
            figures["status"] = float(self.status)
        figures["attempts"] = float(len(self.attempts))
        figures["total_time"] = self.total_time
        return figures

    # -- expectations ---------------------------------------------------------------------------
    def expect(
        self,
        *,
        status: int | Iterable[int] | None = None,
        headers: Mapping[str, str] | None = None,
        contains: str | None = None,
        json: Sequence[str] | str | None = None,
        thresholds: Sequence[str] | str | None = None,
    ) -> ProbeResult:
        """Hold the last response to expectations; raise ``ProbeFailed`` naming every one missed."""
        __tracebackhide__ = True
        expectation = Expectation.build(
            status=status, headers=headers, contains=contains, json=json, thresholds=thresholds
        )
        problems, results = expectation.judge(self)
        if problems:
            raise self.failure(problems, results)
        return self

    def expect_status(self, *status: int) -> ProbeResult:
        __tracebackhide__ = True
        return self.expect(status=status)

    def expect_header(self, name: str, value: str = "") -> ProbeResult:
        __tracebackhide__ = True
        return self.expect(headers={name: value})

    def expect_text(self, contains: str) -> ProbeResult:
        __tracebackhide__ = True
        return self.expect(contains=contains)

    def expect_json(self, *conditions: str) -> ProbeResult:
        __tracebackhide__ = True
        return self.expect(json=list(conditions))

    def check(self, *thresholds: str) -> ProbeResult:
        """Judge thresholds on this probe's figures: ``result.check("latency < 300ms")``."""
        __tracebackhide__ = True
        return self.expect(thresholds=list(thresholds))

    # -- messages -------------------------------------------------------------------------------
    def failure(self, problems: Sequence[str], results: Sequence[ThresholdResult] = ()) -> ProbeFailed:
        return ProbeFailed(self.describe(problems), self, missed_only(results))

    def describe(self, problems: Sequence[str]) -> str:
        redact = self.redactor or Redactor()
        lines = [f"{self.method} {redact(self.url)}: " + "; ".join(problems)]
        count = len(self.attempts)
        reason = f", {self.stop_reason}" if self.stop_reason else ""
        lines.append(f"attempts ({count} in {self.total_time:.2f} s{reason}):")
        shown: list[Attempt | None] = list(self.attempts)
        if count > HISTORY_HEAD + HISTORY_TAIL:
            shown = [*self.attempts[:HISTORY_HEAD], None, *self.attempts[-HISTORY_TAIL:]]
        for attempt in shown:
            if attempt is None:
                lines.append(f"  ... {count - HISTORY_HEAD - HISTORY_TAIL} more attempts ...")
            else:
                lines.append("  " + redact(attempt.line()))
        lines += self.describe_response(redact)
        return "\n".join(lines)

    def describe_response(self, redact: Redactor) -> list[str]:
        if self.response is None:
            return ["last response: none (no attempt got an answer)"]
        r = self.response
        lines = [f"last response: {r.status} {r.reason}".rstrip()]
        for name, value in mask_headers(_unique(r.headers)).items():
            lines.append(f"  {name}: {redact(value)}")
        body = redact(r.text)
        if len(body) > BODY_LIMIT:
            body = body[:BODY_LIMIT] + f"... ({len(r.body) - BODY_LIMIT} more bytes)"
        lines.append(f"  body ({len(r.body)} bytes): {body}" if r.body else "  body: empty")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready detail for reports (``gate.attach``), secrets masked."""
        redact = self.redactor or Redactor()
        return {
            "method": self.method,
            "url": redact(self.url),
            "status": self.status,
            "stop_reason": self.stop_reason,
            "total_time": round(self.total_time, 6),
            "attempt_count": len(self.attempts),
            # A long wait keeps its first and last attempts only, so reports stay small.
            "attempts": [a.to_dict() for a in _ends(self.attempts, REPORT_HEAD, REPORT_TAIL)],
        }


def _ends(attempts: Sequence[Attempt], head: int, tail: int) -> list[Attempt]:
    if len(attempts) <= head + tail:
        return list(attempts)
    return [*attempts[:head], *attempts[-tail:]]


def _unique(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers for display: repeated names joined (secret ones are masked whole afterwards)."""
    merged: dict[str, list[str]] = {}
    for name, value in pairs:
        merged.setdefault(name.lower(), []).append(value)
    return [(name, ", ".join(values)) for name, values in merged.items()]


@dataclass(frozen=True)
class Expectation:
    """What a response must show: status, headers, body text, JSON conditions, thresholds on its figures."""

    status: tuple[int, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    contains: str | None = None
    json: tuple[JsonCondition, ...] = ()
    thresholds: tuple[Threshold, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        status: int | Iterable[int] | None = None,
        headers: Mapping[str, str] | None = None,
        contains: str | None = None,
        json: Sequence[str] | str | None = None,
        thresholds: Sequence[str] | str | None = None,
    ) -> Expectation:
        statuses = (status,) if isinstance(status, int) else tuple(status or ())
        if isinstance(thresholds, str):
            thresholds = [thresholds]
        return cls(
            status=statuses,
            headers=tuple((headers or {}).items()),
            contains=contains,
            json=parse_conditions(json) if json else (),
            thresholds=tuple(parse_threshold(t) for t in thresholds or ()),
        )

    @property
    def empty(self) -> bool:
        return not (self.status or self.headers or self.contains is not None or self.json or self.thresholds)

    def judge(self, result: ProbeResult) -> tuple[list[str], list[ThresholdResult]]:
        """The problems found (empty when every expectation holds) and the threshold results."""
        response = result.response
        if response is None:
            return [f"no response ({result.attempts[-1].outcome if result.attempts else 'no attempt'})"], []
        problems: list[str] = []
        if self.status and response.status not in self.status:
            wanted = " or ".join(map(str, self.status))
            problems.append(f"status = {response.status}, wanted {wanted}")
        for name, value in self.headers:
            actual = response.header(name)
            if actual is None:
                problems.append(f"header {name} is missing")
            elif value and value.lower() not in actual.lower():
                shown = "********" if name.lower() in ("set-cookie", "authorization") else repr(actual)
                problems.append(f"header {name} = {shown}, wanted it to contain {value!r}")
        if self.contains is not None and self.contains not in response.text:
            problems.append(f"body does not contain {self.contains!r}")
        if self.json:
            try:
                document = response.json()
            except ValueError:
                problems.append("body is not JSON")
            else:
                problems += [o.message for o in (c.evaluate(document) for c in self.json) if not o.passed]
        results = [t.judge(result.figures) for t in self.thresholds]
        problems += [r.message for r in results if not r.passed]
        return problems, results
