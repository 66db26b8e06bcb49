"""The ``server_memory`` fixture: the server memory gate's pytest glue over ``pytest_prodgate.performance.memory``.

```python
@pytest.mark.performance(thresholds=["growth_per_100 < 10MB"])
def test_server_memory_stays_flat(server_memory):
    server_memory("/products", requests=200)
```

The process watched is ``pid=``, else ``[tool.prodgate.performance.memory] pid`` (or ``pidfile``),
else the embedded demo service's. Defaults for the call come from the same table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.errors import GateFailed, TargetError
from pytest_prodgate.gate import Gate
from pytest_prodgate.thresholds import parse_duration

# The memory engine (httpx, psutil) is imported inside the methods that measure, so a run without
# a server memory gate never loads it.
if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.context import Prodgate
    from pytest_prodgate.performance.memory import MemoryResult

WHERE = "[tool.prodgate.performance.memory]"


class ServerMemory:
    """Measures the server's memory across requests and records ``rss``, ``growth``, ``growth_per_100``.

    The process is ``pid=`` if given, else ``[tool.prodgate.performance.memory] pid`` / ``pidfile``,
    else the embedded demo service's; with none of them the test is skipped, saying how to set one.
    """

    def __init__(self, gate: Gate, prodgate: Prodgate) -> None:
        self.gate = gate
        self.settings: dict[str, Any] = dict(prodgate.section("performance").get("memory") or {})
        self.demo = prodgate.demo
        self.base_url = prodgate.base_url
        self.result: MemoryResult | None = None

    def target(self, pid: int | None = None) -> tuple[int, str | None]:
        """The process to watch and the base URL that relative paths go to."""
        __tracebackhide__ = True
        from pytest_prodgate.performance.memory import pid_from_settings

        try:
            configured = pid if pid is not None else pid_from_settings(self.settings, WHERE)
        except TargetError as exc:
            raise GateFailed(f"server memory: {exc}") from None
        if configured is not None:
            return configured, self.base_url
        if self.demo is not None:
            return self.demo.pid, self.demo.base_url
        pytest.skip(
            f"server memory: no server process to watch; set {WHERE} pid or pidfile "
            "(a process on this machine), pass pid=, or run against the embedded demo"
        )

    def __call__(
        self,
        path: str | None = None,
        *,
        pid: int | None = None,
        requests: int | None = None,
        warmup: int | None = None,
        samples: int | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> MemoryResult:
        """Send the requests to ``path`` (or a full URL), sample the memory, record the figures.

        A process that is gone, or a target that answers nothing, fails the gate with the reason.
        """
        __tracebackhide__ = True
        from pytest_prodgate.performance.memory import (
            DEFAULT_DEADLINE,
            DEFAULT_PATH,
            DEFAULT_REQUESTS,
            DEFAULT_SAMPLES,
            DEFAULT_TIMEOUT,
            DEFAULT_WARMUP,
            measure_memory,
        )

        s = self.settings
        watched, base_url = self.target(pid)
        path = path if path is not None else s.get("path", DEFAULT_PATH)
        if path.startswith(("http://", "https://")):
            url = path
        elif base_url:
            url = f"{base_url.rstrip('/')}/{path.lstrip('/')}"
        else:
            pytest.skip("server memory: no base URL to send requests to (give --base-url or a full URL)")
        try:
            result = measure_memory(
                watched,
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
    """Measure a server's resident memory (with its children) across requests: ``server_memory("/products")``."""
    return ServerMemory(gate, prodgate)
