"""The ``server_memory`` fixture: the server memory gate's pytest glue over ``pytest_prodgate.memory``.

```python
@pytest.mark.performance(thresholds=["growth_per_100 < 10MB"])
def test_server_memory_stays_flat(server_memory):
    server_memory("/products", requests=200)
```

The process watched is ``[tool.prodgate.performance.memory] pid`` (or ``pidfile``), else the
embedded demo service's. Defaults for the call come from the same table.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_prodgate.context import Prodgate
from pytest_prodgate.errors import GateFailed, TargetError
from pytest_prodgate.gate import Gate
from pytest_prodgate.memory import (
    DEFAULT_DEADLINE,
    DEFAULT_PATH,
    DEFAULT_REQUESTS,
    DEFAULT_SAMPLES,
    DEFAULT_TIMEOUT,
    DEFAULT_WARMUP,
    MemoryResult,
    measure_memory,
    pid_from_settings,
)
from pytest_prodgate.thresholds import parse_duration

WHERE = "[tool.prodgate.performance.memory]"


class ServerMemory:
    """Measures the server's memory across requests and records ``rss``, ``growth``, ``growth_per_100``."""

    def __init__(self, gate: Gate, pid: int, base_url: str, settings: dict[str, Any]) -> None:
        self.gate = gate
        self.pid = pid
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self.result: MemoryResult | None = None

    def __call__(
        self,
        path: str | None = None,
        *,
        requests: int | None = None,
        warmup: int | None = None,
        samples: int | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> MemoryResult:
        """Send the requests, sample the memory, record the figures; a gone process fails the gate."""
        __tracebackhide__ = True
        s = self.settings
        path = path if path is not None else s.get("path", DEFAULT_PATH)
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"
        try:
            result = measure_memory(
                self.pid,
                url,
                requests=requests if requests is not None else s.get("requests", DEFAULT_REQUESTS),
                warmup=warmup if warmup is not None else s.get("warmup", DEFAULT_WARMUP),
                samples=samples if samples is not None else s.get("samples", DEFAULT_SAMPLES),
                timeout=timeout if timeout is not None else parse_duration(s.get("timeout", DEFAULT_TIMEOUT)),
                deadline=deadline if deadline is not None else parse_duration(s.get("deadline", DEFAULT_DEADLINE)),
                headers=headers,
            )
        except TargetError as exc:
            raise GateFailed(f"server memory: {exc}") from None
        self.result = result
        self.gate.record_many(result.figures())
        self.gate.attach("memory", result.to_dict())
        return result


@pytest.fixture
def server_memory(gate: Gate, prodgate: Prodgate) -> ServerMemory:
    """Measure the target server's resident memory (with its children) across requests: see ``ServerMemory``."""
    settings = dict(prodgate.section("performance").get("memory") or {})
    try:
        pid = pid_from_settings(settings, WHERE)
    except TargetError as exc:
        raise GateFailed(f"server memory: {exc}") from None
    base_url = prodgate.base_url
    if pid is None and prodgate.demo is not None:
        pid, base_url = prodgate.demo.pid, prodgate.demo.base_url
    if pid is None:
        pytest.skip(
            f"server memory: no server process to watch; set {WHERE} pid or pidfile "
            "(a process on this machine), or run against the embedded demo"
        )
    if not base_url:
        pytest.skip("server memory: no base URL to send requests to (give --base-url)")
    return ServerMemory(gate, pid, base_url, settings)
