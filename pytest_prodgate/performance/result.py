"""The result of a load run: per-scenario HDR histograms and counts, figures, JSON, thresholds.

``LoadResult.figures`` is a flat dict in base units under the threshold language's names
(``p95`` in seconds, ``error_rate`` as a fraction, ``rps`` per second), scoped per scenario as
``search.p95``. ``merge`` adds histograms and sums counts, so a run split over worker processes
merges into exactly the run it was.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from pytest_prodgate.errors import GateFailed
from pytest_prodgate.gate import format_results
from pytest_prodgate.performance.recorder import ERROR_KINDS, new_histogram
from pytest_prodgate.thresholds import Threshold, ThresholdResult, evaluate

__all__ = ["PERCENTILES", "LoadResult", "ScenarioResult"]

# figure name -> percentile
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p99.9": 99.9}


def _encode(histogram: HdrHistogram) -> str:
    return str(histogram.encode().decode("ascii"))


def _decode(text: str | None) -> HdrHistogram:
    histogram = new_histogram()
    if text:
        histogram.add(HdrHistogram.decode(text.encode("ascii")))
    return histogram


def latency_figures(histogram: HdrHistogram) -> dict[str, float]:
    """min, avg, percentiles and max in seconds (NaN when nothing was recorded).

    hdrhistogram's ``get_mean_value`` and ``get_value_at_percentile`` walk its iterators in pure
    Python (~0.4 s for one 1-second interval at 100k requests/s, on the event loop, every interval);
    one pass over the counts array and ``get_percentile_to_value_dict`` give the same values in ms.
    """
    if not histogram.get_total_count():
        return {name: math.nan for name in ("min", "avg", *PERCENTILES, "max")}
    out = {"min": histogram.get_min_value() / 1e6, "avg": mean_value(histogram) / 1e6}
    values = histogram.get_percentile_to_value_dict(list(PERCENTILES.values()))
    for name, percentile in PERCENTILES.items():
        out[name] = values[percentile] / 1e6
    out["max"] = histogram.get_max_value() / 1e6
    return out


def mean_value(histogram: HdrHistogram) -> float:
    """``histogram.get_mean_value()`` (each bucket at its median equivalent value, as hdrhistogram does), in one pass."""
    total = histogram.get_total_count()
    if not total:
        return 0.0
    weighted: int = 0
    value_at, median_of = histogram.get_value_from_index, histogram._hdr_median_equiv_value
    for index, count in enumerate(list(histogram.counts)[: histogram.counts_len]):
        if count:
            weighted += int(count) * int(median_of(value_at(index)))
    return weighted / int(total)


def interval_percentiles(histogram: HdrHistogram) -> tuple[float | None, float | None, float | None]:
    """p50, p95 and p99 in seconds (None when nothing was recorded), in one pass."""
    if not histogram.get_total_count():
        return None, None, None
    values: dict[float, int] = histogram.get_percentile_to_value_dict([50.0, 95.0, 99.0])
    return values[50.0] / 1e6, values[95.0] / 1e6, values[99.0] / 1e6


@dataclass
class ScenarioResult:
    """One scenario's (or the whole run's) histogram and counts."""

    name: str
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    status: dict[str, int] = field(default_factory=dict)
    checks_failed: dict[str, int] = field(default_factory=dict)
    histogram: HdrHistogram = field(default_factory=new_histogram, repr=False)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def figures(self, duration: float) -> dict[str, float]:
        """This scenario's figures in base units."""
        errors = self.error_count
        requests = self.requests
        out: dict[str, float] = {
            "requests": float(requests),
            "rps": requests / duration if duration > 0 else 0.0,
            "errors": float(errors),
            "error_rate": errors / requests if requests else (1.0 if errors else 0.0),
            "dropped": float(self.dropped),
        }
        out["success_rate"] = 1.0 - out["error_rate"] if requests else 0.0
        out.update(latency_figures(self.histogram))
        for kind in ERROR_KINDS:
            if kind in ("status", "flow") and not self.errors.get(kind):
                continue
            out[f"errors_{kind}"] = float(self.errors.get(kind, 0))
        for code, count in sorted(self.status.items()):
            out[f"status_{code}"] = float(count)
        return out

    def add(self, other: ScenarioResult) -> None:
        """Add another part of the same scenario (another worker's share) into this one."""
        self.requests += other.requests
        self.dropped += other.dropped
        for target, source in (
            (self.errors, other.errors),
            (self.status, other.status),
            (self.checks_failed, other.checks_failed),
        ):
            for key, value in source.items():
                target[key] = target.get(key, 0) + value
        if other.histogram.get_total_count():
            self.histogram.add(other.histogram)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": self.requests,
            "errors": dict(self.errors),
            "dropped": self.dropped,
            "status": dict(self.status),
            "checks_failed": dict(self.checks_failed),
            "hdr": _encode(self.histogram) if self.histogram.get_total_count() else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioResult:
        return cls(
            name=data["name"],
            requests=int(data.get("requests", 0)),
            errors={k: int(v) for k, v in data.get("errors", {}).items()},
            dropped=int(data.get("dropped", 0)),
            status={str(k): int(v) for k, v in data.get("status", {}).items()},
            checks_failed={k: int(v) for k, v in data.get("checks_failed", {}).items()},
            histogram=_decode(data.get("hdr")),
        )


@dataclass
class IntervalPoint:
    """One point of the per-interval series: counts, percentiles, and the interval's histogram encoded.

    The histogram is kept compressed (a few hundred bytes; a live one is ~190 KB), so an hour of
    seconds costs a few MB, and worker series still merge exactly.
    """

    t: float
    requests: int
    errors: int
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    hdr: str | None = field(default=None, repr=False)

    @classmethod
    def build(cls, t: float, requests: int, errors: int, histogram: HdrHistogram) -> IntervalPoint:
        point = cls(t=t, requests=requests, errors=errors)
        point.set_histogram(histogram)
        return point

    def set_histogram(self, histogram: HdrHistogram) -> None:
        self.p50, self.p95, self.p99 = interval_percentiles(histogram)
        self.hdr = _encode(histogram) if histogram.get_total_count() else None

    def histogram(self) -> HdrHistogram:
        return _decode(self.hdr)

    def absorb(self, other: IntervalPoint) -> None:
        """Add another point of the same interval (another worker's, or a sliver at the end)."""
        self.requests += other.requests
        self.errors += other.errors
        if other.hdr:
            histogram = self.histogram()
            histogram.add(other.histogram())
            self.set_histogram(histogram)

    def to_dict(self, interval: float, with_histogram: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "t": round(self.t, 3),
            "requests": self.requests,
            "rps": self.requests / interval if interval > 0 else 0.0,
            "errors": self.errors,
            "p50": self.p50,
            "p95": self.p95,
            "p99": self.p99,
        }
        if with_histogram:
            out["hdr"] = self.hdr
        return out


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass
class LoadResult:
    """Everything a load run measured, JSON-serialisable with ``to_dict``/``from_dict``."""

    target: str
    scenarios: dict[str, ScenarioResult]
    duration: float
    model: str = "closed"
    users: int = 0
    rate: float | None = None
    workers: int = 1
    generator_cpu: float = 0.0
    interval: float = 1.0
    series: list[IntervalPoint] = field(default_factory=list)
    aborted: str | None = None
    failure: str | None = None
    started_at: float = 0.0
    cluster: dict[str, Any] | None = None  # a cluster run: the scheduler and each worker's share, clock, figures

    @property
    def overall(self) -> ScenarioResult:
        total = ScenarioResult("overall")
        for part in self.scenarios.values():
            total.add(part)
        return total

    @property
    def ok(self) -> bool:
        """False when the run failed outright (dead target) or was aborted."""
        return self.failure is None and self.aborted is None

    @property
    def figures(self) -> dict[str, float]:
        """Flat figures in base units: overall ones bare, per-scenario ones as ``name.figure``."""
        out = self.overall.figures(self.duration)
        out["generator_cpu"] = self.generator_cpu
        out["duration"] = self.duration
        for name, part in self.scenarios.items():
            for key, value in part.figures(self.duration).items():
                out[f"{name}.{key}"] = value
        return out

    def evaluate(self, *thresholds: str | Threshold) -> list[ThresholdResult]:
        return evaluate(list(thresholds), self.figures)

    def check(self, *thresholds: str | Threshold) -> list[ThresholdResult]:
        """Judge thresholds against this run's figures; raise ``GateFailed`` (a table) on a miss."""
        __tracebackhide__ = True
        results = self.evaluate(*thresholds)
        failed = [r for r in results if not r.passed]
        if failed or self.failure:
            from pytest_prodgate.performance.breakdown import breakdown

            message = format_results(results, breakdown(self)) if results else "load run failed"
            if self.failure:
                message = f"load run failed: {self.failure}\n{message}"
            elif self.aborted:
                message += f"\n(aborted early: {self.aborted})"
            raise GateFailed(message, results)
        return results

    def series_dicts(self, with_histograms: bool = False) -> list[dict[str, Any]]:
        return [p.to_dict(self.interval, with_histograms) for p in self.series]

    def percentiles(self) -> dict[str, float | None]:
        """Overall latency percentiles in seconds, for reports."""
        return {k: _none_if_nan(v) for k, v in latency_figures(self.overall.histogram).items()}

    def summary_rows(self) -> list[tuple[str, str]]:
        """(figure, value) rows for a table in display units; per-scenario rows only with several scenarios."""
        from pytest_prodgate.thresholds import Kind, figure_kind, format_value

        rows = []
        several = len(self.scenarios) > 1
        for key, value in self.figures.items():
            tail = key.split(".", 1)[1] if "." in key and not key.startswith("p99.") else key
            if "." in key and not key.startswith("p99.") and not several:
                continue
            if tail.startswith("status_") or (tail.startswith("errors_") and not value):
                continue
            if math.isnan(value):
                shown = "-"
            elif tail == "generator_cpu" or figure_kind(key) is Kind.FRACTION:
                shown = format_value(value, "%")
            else:
                shown = format_value(value, kind=figure_kind(key))
            rows.append((key, shown))
        return rows

    def to_dict(self, *, with_histograms: bool = True, with_series_histograms: bool = False) -> dict[str, Any]:
        figures = {k: _none_if_nan(v) for k, v in self.figures.items()}
        return {
            "target": self.target,
            "model": self.model,
            "users": self.users,
            "rate": self.rate,
            "workers": self.workers,
            "duration": self.duration,
            "started_at": self.started_at,
            "generator_cpu": self.generator_cpu,
            "interval": self.interval,
            "aborted": self.aborted,
            "failure": self.failure,
            "figures": figures,
            "scenarios": {
                name: (part.to_dict() if with_histograms else {**part.to_dict(), "hdr": None})
                for name, part in self.scenarios.items()
            },
            "series": self.series_dicts(with_series_histograms),
            **({"cluster": self.cluster} if self.cluster is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadResult:
        interval = float(data.get("interval", 1.0))
        series = [
            IntervalPoint(
                t=float(p["t"]),
                requests=int(p["requests"]),
                errors=int(p["errors"]),
                p50=p.get("p50"),
                p95=p.get("p95"),
                p99=p.get("p99"),
                hdr=p.get("hdr"),
            )
            for p in data.get("series", [])
        ]
        return cls(
            target=data["target"],
            scenarios={name: ScenarioResult.from_dict(part) for name, part in data["scenarios"].items()},
            duration=float(data["duration"]),
            model=data.get("model", "closed"),
            users=int(data.get("users", 0)),
            rate=data.get("rate"),
            workers=int(data.get("workers", 1)),
            generator_cpu=float(data.get("generator_cpu", 0.0)),
            interval=interval,
            series=series,
            aborted=data.get("aborted"),
            failure=data.get("failure"),
            started_at=float(data.get("started_at", 0.0)),
            cluster=data.get("cluster"),
        )


def merge(parts: Sequence[LoadResult]) -> LoadResult:
    """Merge the results of worker processes: histograms added, counts summed, series aligned by interval."""
    if not parts:
        raise ValueError("nothing to merge")
    first = parts[0]
    names: list[str] = []
    for part in parts:
        names += [n for n in part.scenarios if n not in names]
    scenarios = {name: ScenarioResult(name) for name in names}
    for part in parts:
        for name, scenario in part.scenarios.items():
            scenarios[name].add(scenario)
    length = max(len(p.series) for p in parts)
    series = []
    for i in range(length):  # interval i of every part, histograms added, percentiles computed once
        point = IntervalPoint(t=0.0, requests=0, errors=0)
        histogram = new_histogram()
        for part in parts:
            if i < len(part.series):
                src = part.series[i]
                point.t = max(point.t, src.t)
                point.requests += src.requests
                point.errors += src.errors
                if src.hdr:
                    histogram.add(src.histogram())
        point.set_histogram(histogram)
        series.append(point)
    return LoadResult(
        target=first.target,
        scenarios=scenarios,
        duration=max(p.duration for p in parts),
        model=first.model,
        users=sum(p.users for p in parts),
        rate=None if first.rate is None else sum(p.rate or 0.0 for p in parts),
        workers=sum(p.workers for p in parts),
        generator_cpu=sum(p.generator_cpu for p in parts),
        interval=first.interval,
        series=series,
        aborted=next((p.aborted for p in parts if p.aborted), None),
        failure=next((p.failure for p in parts if p.failure), None),
        started_at=min(p.started_at for p in parts),
    )


def merge_dicts(parts: Iterable[Mapping[str, Any]]) -> LoadResult:
    return merge([LoadResult.from_dict(p) for p in parts])
