"""System resources (psutil): CPU, memory and disk use, open file descriptors, load, as figures.

Figures are fractions (``cpu`` 0.12 == 12%) and counts, judged by thresholds in the shared
language: ``cpu < 80%``, ``memory < 85%``, ``disk < 90%``, ``fds_used < 80%``, ``load_per_core < 2``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import psutil

from pytest_prodgate.readiness.result import ReadinessResult, build_result, describe_figure

__all__ = ["DEFAULT_THRESHOLDS", "check_system", "measure_system"]

DEFAULT_THRESHOLDS = ("cpu < 80%", "memory < 85%", "disk < 90%")


def _fd_limit() -> float | None:
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return None
    return float(soft) if soft > 0 else None


def measure_system(*, path: str = "/", cpu_interval: float = 0.2, pid: int | None = None) -> dict[str, float]:
    """Measure now: ``cpu``, ``memory``, ``disk`` (fractions), ``disk_free`` (bytes), ``open_fds``, ``fds_used``,
    ``load`` (the 1-minute load average) and ``load_per_core`` (that average over the logical cores)."""
    # A short sampling interval: psutil's first cpu_percent(None) call always answers 0.
    cpu = psutil.cpu_percent(interval=max(0.05, min(cpu_interval, 2.0))) / 100.0
    memory = psutil.virtual_memory().percent / 100.0
    usage = psutil.disk_usage(path)
    figures = {"cpu": cpu, "memory": memory, "disk": usage.percent / 100.0, "disk_free": float(usage.free)}
    try:
        load = psutil.getloadavg()[0]  # runnable (and, on Linux, uninterruptible) tasks, averaged over a minute
    except (AttributeError, OSError):  # pragma: no cover - psutil emulates it where the OS has none
        load = None
    if load is not None:
        figures["load"] = float(load)
        figures["load_per_core"] = float(load) / (psutil.cpu_count() or 1)
    process = psutil.Process(pid or os.getpid())
    try:
        open_fds = float(process.num_fds())
    except (AttributeError, psutil.Error):  # num_fds is POSIX only
        open_fds = None
    if open_fds is not None:
        figures["open_fds"] = open_fds
        limit = _fd_limit()
        if limit:
            figures["fds_used"] = open_fds / limit
    return figures


def check_system(
    *,
    thresholds: Sequence[str] = DEFAULT_THRESHOLDS,
    path: str = "/",
    cpu_interval: float = 0.2,
    pid: int | None = None,
    waivers: Mapping[str, str] | None = None,
) -> ReadinessResult:
    """Measure the system and judge ``thresholds`` (one finding per missed threshold)."""
    figures = measure_system(path=path, cpu_interval=cpu_interval, pid=pid)
    summary = ", ".join(describe_figure(name, figures[name]) for name in ("cpu", "memory", "disk") if name in figures)
    return build_result("system", [], figures, thresholds=thresholds, waivers=waivers, summary=summary)
