"""The ``[tool.prodgate.performance]`` section: defaults for the ``load`` fixture.

```toml
[tool.prodgate.performance]
users = 20
duration = "10s"
thresholds = ["p95 < 500ms", "error_rate < 1%"]
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_prodgate.errors import ConfigError

__all__ = ["SCHEMA", "SECTION", "plan_settings"]

SECTION = "performance"

# key -> accepted Python type(s) after TOML parsing
SCHEMA: dict[str, type | tuple[type, ...]] = {
    "users": int,
    "duration": (str, int, float),
    "iterations": int,
    "ramp_up": (str, int, float),
    "think_time": (str, int, float, list),
    "rate": (int, float),
    "stages": list,
    "max_connections": int,
    "slack": (str, int, float),
    "timeout": (str, int, float),
    "connect_timeout": (str, int, float),
    "read_timeout": (str, int, float),
    "deadline": (str, int, float),
    "verify": (bool, str),
    "headers": dict,
    "workers": (int, str),
    "smoke": bool,
    "abort_on_fail": bool,
    "min_samples": int,
    "thresholds": list,
}

# keys the engine takes as they are (thresholds are judged by the gate, see the fixture)
PLAN_KEYS = set(SCHEMA) - {"thresholds"}


def _type_names(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "an integer", float: "a number", str: "a string", bool: "true/false", list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def validate_section(section: Mapping[str, Any], where: str = "[tool.prodgate.performance]") -> dict[str, Any]:
    """Check keys and types; a mistake is a ``ConfigError`` naming the key."""
    out: dict[str, Any] = {}
    for key, value in section.items():
        if key not in SCHEMA:
            known = ", ".join(sorted(SCHEMA))
            raise ConfigError(f"unknown key {key!r}. Known keys: {known}", where=where)
        kind = SCHEMA[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise ConfigError(f"{key} must be {_type_names(kind)}, got {value!r}", where=f"{where} {key}")
        if not isinstance(value, kinds):
            raise ConfigError(f"{key} must be {_type_names(kind)}, got {value!r}", where=f"{where} {key}")
        out[key] = value
    if "stages" in out:
        stages = []
        for stage in out["stages"]:
            if isinstance(stage, Mapping) and set(stage) == {"duration", "target"}:
                stages.append((stage["duration"], stage["target"]))
            elif isinstance(stage, (list, tuple)) and len(stage) == 2:
                stages.append((stage[0], stage[1]))
            else:
                raise ConfigError(f"each stage must be {{duration = \"30s\", target = 100}}, got {stage!r}", where=f"{where} stages")
        out["stages"] = stages
    return out


def plan_settings(section: Mapping[str, Any], where: str = "[tool.prodgate.performance]") -> dict[str, Any]:
    """The section's keys that are ``make_plan`` keywords, validated."""
    checked = validate_section(section, where)
    return {k: v for k, v in checked.items() if k in PLAN_KEYS}
