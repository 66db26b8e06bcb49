"""Family markers turned into frozen ``GateSpec``s at collection time (the pytest glue).

Imported when collection meets the first item with a family marker (``plugin.has_family_marker``):
a run without gates never loads it, nor the threshold language behind it.

``@pytest.mark.performance(thresholds=["p95 < 500ms"], severity="warning")`` becomes
``GateSpec(family="performance", thresholds=(...), severity=WARNING)`` in ``item.stash``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pytest_prodgate.config import ProdgateConfig
from pytest_prodgate.errors import ConfigError
from pytest_prodgate.families import FAMILIES
from pytest_prodgate.gate import Severity
from pytest_prodgate.plugin.stash import SPEC
from pytest_prodgate.thresholds import Threshold, parse_thresholds

MARKER_ARGS = ("thresholds", "severity", "allow_skip")


@dataclass(frozen=True)
class GateSpec:
    """What a family marker declares about one gate."""

    family: str
    severity: Severity = Severity.BLOCKING
    thresholds: tuple[Threshold, ...] = ()
    explicit_thresholds: bool = False
    allow_skip: str | None = None  # why skipping this gate is fine (it then does not block)


spec_key = SPEC  # item.stash: the spec of a gate (``plugin.stash.SPEC``)


def marker_place(item: pytest.Item, family: str) -> str:
    path, line, _ = item.reportinfo()
    where = f"{path}:{line + 1}" if line is not None else str(path)
    return f"@pytest.mark.{family} on {item.nodeid} ({where})"


def gate_spec(item: pytest.Item, settings: ProdgateConfig) -> GateSpec | None:
    """Read the closest family marker of ``item``; ``None`` when it is not a gate."""
    marker = None
    for candidate in item.iter_markers():
        if candidate.name in FAMILIES:
            marker = candidate
            break
    if marker is None:
        return None
    family = marker.name
    place = marker_place(item, family)
    if marker.args:
        raise ConfigError(f"{place}: takes keyword arguments only (thresholds=[...], severity=...)")
    unknown = sorted(set(marker.kwargs) - set(MARKER_ARGS))
    if unknown:
        raise ConfigError(f"{place}: unknown argument {unknown[0]!r}; expected one of {', '.join(MARKER_ARGS)}")
    severity_text = marker.kwargs.get("severity", "blocking")
    try:
        severity = Severity(severity_text)
    except ValueError:
        raise ConfigError(f"{place}: severity {severity_text!r} is not 'blocking' or 'warning'") from None
    explicit = "thresholds" in marker.kwargs
    if explicit:
        thresholds = parse_thresholds(marker.kwargs["thresholds"], where=place)
    else:
        section = settings.section(family)
        thresholds = parse_thresholds(section.get("thresholds", []), where=f"[tool.prodgate.{family}] thresholds")
    allow_skip = marker.kwargs.get("allow_skip")
    if allow_skip is not None and (not isinstance(allow_skip, str) or not allow_skip.strip()):
        raise ConfigError(f"{place}: allow_skip must name the reason skipping is fine, got {allow_skip!r}")
    return GateSpec(
        family=family, severity=severity, thresholds=thresholds, explicit_thresholds=explicit, allow_skip=allow_skip
    )
