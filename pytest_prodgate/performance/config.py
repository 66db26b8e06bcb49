"""The ``[tool.prodgate.performance]`` section: defaults for the ``load`` fixture.

```toml
[tool.prodgate.performance]
users = 20
duration = "10s"
stages = [{duration = "5s", target = 50}, {duration = "10s", target = 200}]
thresholds = ["p95 < 500ms", "error_rate < 1%"]
```

``SCHEMA`` uses the vocabulary of ``pytest_prodgate.config`` (``thresholds`` comes with every
family section). ``plan_settings`` turns a validated section into ``make_plan`` keywords.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pytest_prodgate.config import ANY, DURATION, ListOf, TableOf
from pytest_prodgate.errors import ConfigError

__all__ = ["CLUSTER_VARIABLE", "MEMORY_SCHEMA", "SCHEMA", "SECTION", "cluster_address", "plan_settings"]

SECTION = "performance"

# Keys for ``[tool.prodgate.performance.memory]`` (merged into SCHEMA below; measured by ``memory.py``):
#   pid = 1234 | pidfile = "/run/app.pid"   the server process (default: the embedded demo's)
#   path = "/products"                     the URL path requested (relative to the base URL)
#   requests = 200, warmup = 20            requests measured, and sent before the first sample
#   samples = 20                           how many RSS readings across the measured requests
#   timeout = "5s", deadline = "60s"       per request, and for the whole measurement
MEMORY_SCHEMA: dict[str, Any] = {
    "memory": {
        "pid": int,
        "pidfile": str,
        "path": str,
        "requests": int,
        "warmup": int,
        "samples": int,
        "timeout": DURATION,
        "deadline": DURATION,
    }
}

SCHEMA: dict[str, Any] = {
    "users": int,
    "duration": DURATION,
    "iterations": int,
    "ramp_up": DURATION,
    "think_time": DURATION,
    "rate": float,
    "stages": ListOf({"duration": DURATION, "target": float}),
    "max_connections": int,
    "slack": DURATION,
    "timeout": DURATION,
    "connect_timeout": DURATION,
    "read_timeout": DURATION,
    "deadline": DURATION,
    "verify": ANY,  # true, false or the path of a CA bundle
    "headers": TableOf(str),
    "workers": ANY,  # a number or "auto"
    "smoke": bool,
    "abort_on_fail": bool,
    "min_samples": int,
    "cluster": str,  # a Dask scheduler, e.g. "tcp://10.0.0.5:8786" (else PRODGATE_CLUSTER; see docs/distributed.md)
}
SCHEMA.update(MEMORY_SCHEMA)  # [tool.prodgate.performance.memory], read by the server_memory fixture

WHERE = "[tool.prodgate.performance]"
CLUSTER_VARIABLE = "PRODGATE_CLUSTER"


def cluster_address(configured: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The Dask scheduler to run on: the configured address, else ``PRODGATE_CLUSTER``, else none (run here)."""
    if configured:
        return configured
    value = (environ if environ is not None else os.environ).get(CLUSTER_VARIABLE, "").strip()
    return value or None


def plan_settings(section: Mapping[str, Any], where: str = WHERE) -> dict[str, Any]:
    """The section's keys as ``make_plan`` keywords (``thresholds`` is left to the gate)."""
    out: dict[str, Any] = {}
    for key, value in section.items():
        if key in ("thresholds", "memory"):  # judged by the gate; read by the server_memory fixture
            continue
        if key not in SCHEMA:
            raise ConfigError(f"{where}: unknown key {key!r}")
        if key == "verify" and not isinstance(value, (bool, str)):
            raise ConfigError(f"{where} verify must be true, false or a CA bundle path, got {value!r}")
        if key == "workers" and value != "auto" and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"{where} workers must be a number or 'auto', got {value!r}")
        if key == "stages":
            value = [(stage["duration"], stage["target"]) for stage in value]
        out[key] = value
    return out
