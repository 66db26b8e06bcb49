"""HTTP probes with retries: exponential backoff with jitter, bounded by attempts and by a deadline.

A probe is one health request with its retries. Every attempt has connect and read timeouts
(never more than the time left before the deadline), so a port where nothing listens or a server
that never answers fails within the deadline, never hangs. ``Probe`` is synchronous,
``AsyncProbe`` the same for asyncio. Both return a ``ProbeResult`` (``results.py``).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import os
import random
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

import httpx

from pytest_prodgate.errors import ConfigError
from pytest_prodgate.health.results import Attempt, Expectation, ProbeFailed, ProbeResult, Response
from pytest_prodgate.health.retry import MAX_ATTEMPTS, MIN_ATTEMPT_TIME, RetryPolicy, error_detail, error_kind
from pytest_prodgate.redact import Redactor
from pytest_prodgate.thresholds import parse_duration

__all__ = ["AsyncProbe", "Probe", "ProbeFailed", "ProbeResult", "RetryPolicy", "error_kind"]

MAX_BODY = 1024 * 1024  # bytes of a body kept for expectations and messages; the rest is read and dropped
Duration = str | float | int
# TLS verification: on/off, a CA bundle file (PEM) to verify against, or a ready ``ssl.SSLContext``.
Verify = bool | str | os.PathLike[str] | ssl.SSLContext


class _Run:
    """The state of one probe across its attempts (shared by the sync and async loops)."""

    def __init__(
        self,
        method: str,
        url: str,
        policy: RetryPolicy,
        expectation: Expectation,
        redactor: Redactor,
        rng: random.Random,
        retry_unmet: bool,
        interrupted: Callable[[], object] | None = None,
    ) -> None:
        self.policy = policy
        self.interrupted = interrupted
        self.expectation = expectation
        self.retry_unmet = retry_unmet
        self.rng = rng
        self.start = time.monotonic()
        self.first: float | None = None
        self.result = ProbeResult(method, url, redactor=redactor)

    def remaining(self) -> float:
        return self.policy.deadline - (time.monotonic() - self.start)

    def timeout(self) -> httpx.Timeout:
        left = max(MIN_ATTEMPT_TIME, self.remaining())
        connect = min(self.policy.connect_timeout, left)
        read = min(self.policy.read_timeout, left)
        return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)

    def begin(self) -> float:
        now = time.monotonic()
        if self.first is None:
            self.first = now  # offsets count from the first attempt; the deadline from the call
        return now

    def record(
        self, begun: float, response: httpx.Response | None, exc: BaseException | None, body: bytes = b""
    ) -> None:
        now = time.monotonic()
        number = len(self.result.attempts) + 1
        offset, latency = begun - (self.first or begun), now - begun
        if response is not None:
            attempt = Attempt(number, offset, latency, status=response.status_code)
            self.result.response = Response(
                status=response.status_code,
                reason=response.reason_phrase,
                headers=tuple(response.headers.multi_items()),
                body=body,
                http_version=response.http_version,
            )
        else:
            detail = error_detail(exc) if exc else "error"
            attempt = Attempt(number, offset, latency, error=error_kind(exc) if exc else "error", detail=detail[:160])
        self.result.attempts.append(attempt)
        self.result.total_time = now - self.start

    def keep(self, body: bytearray, chunk: bytes, request: httpx.Request) -> None:
        """Add a chunk of the body (up to ``MAX_BODY``); a body still arriving at the deadline is a timeout.

        A read timeout bounds each read, not a slow trickle of bytes: this check bounds the whole body.
        """
        if len(body) < MAX_BODY:
            body.extend(chunk[: MAX_BODY - len(body)])
        if self.remaining() <= 0:
            raise httpx.ReadTimeout(
                f"deadline of {self.policy.deadline:g} s reached while reading the body", request=request
            )

    def satisfied(self) -> bool:
        """Whether the last attempt ends the probe successfully (no retry needed)."""
        response = self.result.response
        if response is None or self.result.attempts[-1].status is None:
            return False
        if self.retry_unmet and not self.expectation.empty:
            without_thresholds = replace(self.expectation, thresholds=())
            return not without_thresholds.judge(self.result)[0]
        return response.status not in self.policy.retry_statuses

    def next_delay(self) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` when the probe is over."""
        if self.satisfied():
            return None
        if self.interrupted is not None and self.interrupted():
            self.result.stop_reason = "interrupted"
            return None
        used = len(self.result.attempts)
        if used >= self.policy.attempts:
            n = self.policy.attempts
            self.result.stop_reason = f"all {n} attempts used" if n > 1 else "retries are off"
            return None
        delay = self.policy.delay(used - 1, self.rng)
        if self.remaining() - delay < MIN_ATTEMPT_TIME:
            self.result.stop_reason = f"deadline of {self.policy.deadline:g} s reached"
            return None
        return delay

    def outcome(self) -> ProbeResult:
        """The result, or ``ProbeFailed`` when nothing answered or an expectation was missed."""
        __tracebackhide__ = True
        result = self.result
        result.total_time = time.monotonic() - self.start
        problems, threshold_results = self.expectation.judge(result)
        if result.response is None or problems:
            raise result.failure(problems, threshold_results)
        return result


def _ca_context(bundle: str | os.PathLike[str]) -> ssl.SSLContext:
    """A context verifying against the CA bundle file ``bundle`` (PEM), not the system store."""
    try:
        return ssl.create_default_context(cafile=os.fspath(bundle))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"ca_bundle {os.fspath(bundle)!r} cannot be read as a CA bundle: {exc}") from None


class _ProbeBase:
    def __init__(
        self,
        base_url: str | None = None,
        *,
        policy: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        verify: Verify = True,
        redactor: Redactor | None = None,
        on_result: Callable[[ProbeResult, str | None], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url
        self.policy = policy or RetryPolicy()
        self.headers = dict(headers or {})
        self.verify = verify
        self.redactor = redactor or Redactor()
        self.on_result = on_result
        self.rng = rng or random.Random()
        self.results: list[ProbeResult] = []

    def url_for(self, path: str) -> str:
        """The URL a probe of ``path`` requests (the join rules of docs/health.md).

        - an absolute ``http://`` or ``https://`` URL is used as it is (another host, another scheme);
        - ``""`` is the base URL itself, exactly as given (no slash added);
        - ``?query`` (or ``#fragment``) is added to the base URL itself;
        - any other path is appended to the base URL, whose path is treated as a directory,
          with or without a leading slash: base ``http://h/api`` and ``/health`` or ``health``
          give ``http://h/api/health``; ``..`` segments are resolved as in ``urljoin``.
        """
        if path.startswith(("http://", "https://")):
            return path
        if not self.base_url:
            raise ConfigError(f"cannot probe {path!r}: no base URL (give --base-url or [tool.prodgate] base_url)")
        if path == "" or path.startswith(("?", "#")):
            return self.base_url + path
        return urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))

    def _prepare(
        self,
        method: str,
        path: str,
        *,
        status: int | Iterable[int] | None,
        json: Sequence[str] | str | None,
        contains: str | None,
        expect_headers: Mapping[str, str] | None,
        thresholds: Sequence[str] | str | None,
        retries: int | None,
        timeout: Duration | None,
        deadline: Duration | None,
        retry_unmet: bool = True,
        policy: RetryPolicy | None = None,
        interrupted: Callable[[], object] | None = None,
    ) -> _Run:
        settings: dict[str, Any] = {}
        if retries is not None:
            settings["retries"] = retries
        if timeout is not None:
            settings["timeout"] = timeout
        if deadline is not None:
            settings["deadline"] = deadline
        chosen = RetryPolicy.from_settings(settings, policy or self.policy)
        expectation = Expectation.build(
            status=status, headers=expect_headers, contains=contains, json=json, thresholds=thresholds
        )
        return _Run(
            method.upper(), self.url_for(path), chosen, expectation, self.redactor, self.rng, retry_unmet, interrupted
        )

    def _request_args(self, run: _Run, headers: Mapping[str, str] | None, body: Any) -> dict[str, Any]:
        merged = {**self.headers, **(headers or {})}
        content: bytes | str | None = None
        if isinstance(body, (dict, list)):
            content = jsonlib.dumps(body)
            merged.setdefault("content-type", "application/json")
        elif body is not None:
            content = body
        return {"method": run.result.method, "url": run.result.url, "headers": merged, "content": content}

    def _finish(self, run: _Run, name: str | None) -> ProbeResult:
        __tracebackhide__ = True
        self.results.append(run.result)
        if self.on_result is not None:
            self.on_result(run.result, name)
        return run.outcome()

    def _client_args(
        self, verify: Verify | None = None, ca_bundle: str | os.PathLike[str] | None = None
    ) -> dict[str, Any]:
        """httpx client settings; ``verify``/``ca_bundle`` of one call win over the probe's own."""
        if ca_bundle is not None and verify is False:
            raise ConfigError("give either verify=False or ca_bundle=, not both")
        chosen: Verify = ca_bundle if ca_bundle is not None else (self.verify if verify is None else verify)
        context: bool | ssl.SSLContext = chosen if isinstance(chosen, (bool, ssl.SSLContext)) else _ca_context(chosen)
        return {"verify": context, "follow_redirects": False, "timeout": self.policy.read_timeout}

    def _wait_policy(self, timeout: Duration, interval: Duration) -> RetryPolicy:
        every = parse_duration(interval)
        return replace(
            self.policy,
            attempts=MAX_ATTEMPTS,
            deadline=parse_duration(timeout),
            backoff=min(0.25, every),
            max_backoff=every,
        )


class Probe(_ProbeBase):
    """Synchronous probes bound to a base URL: ``Probe(url).get("/health/ready", status=200)``."""

    def request(
        self,
        method: str,
        path: str = "",
        *,
        status: int | Iterable[int] | None = None,
        json: Sequence[str] | str | None = None,
        contains: str | None = None,
        expect_headers: Mapping[str, str] | None = None,
        thresholds: Sequence[str] | str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        retries: int | None = None,
        timeout: Duration | None = None,
        deadline: Duration | None = None,
        name: str | None = None,
        verify: Verify | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        _policy: RetryPolicy | None = None,
        _interrupted: Callable[[], object] | None = None,
    ) -> ProbeResult:
        """Send ``method path`` with retries until an answer meets the expectations given here.

        ``json`` holds conditions on the JSON body (``checks.db.status == "ok"``), not a request body
        (that is ``body``). ``verify``/``ca_bundle`` set TLS verification for this call only (a CA
        bundle file given at run time, e.g. a test CA's). Raises ``ProbeFailed`` when no attempt got an answer or an expectation
        was missed; without expectations, a 429/502/503/504 answer is retried and then returned.
        """
        __tracebackhide__ = True
        run = self._prepare(
            method,
            path,
            status=status,
            json=json,
            contains=contains,
            expect_headers=expect_headers,
            thresholds=thresholds,
            retries=retries,
            timeout=timeout,
            deadline=deadline,
            policy=_policy,
            interrupted=_interrupted,
        )
        args = self._request_args(run, headers, body)
        with httpx.Client(**self._client_args(verify, ca_bundle)) as client:
            while True:
                begun = run.begin()
                try:
                    with client.stream(**args, timeout=run.timeout()) as response:
                        body = bytearray()
                        for chunk in response.iter_bytes():
                            run.keep(body, chunk, response.request)
                except httpx.TransportError as exc:
                    run.record(begun, None, exc)
                else:
                    run.record(begun, response, None, bytes(body))
                delay = run.next_delay()
                if delay is None:
                    break
                time.sleep(delay)
        return self._finish(run, name)

    def get(self, path: str = "", **options: Any) -> ProbeResult:
        __tracebackhide__ = True
        return self.request("GET", path, **options)

    def head(self, path: str = "", **options: Any) -> ProbeResult:
        __tracebackhide__ = True
        return self.request("HEAD", path, **options)

    def post(self, path: str = "", **options: Any) -> ProbeResult:
        __tracebackhide__ = True
        return self.request("POST", path, **options)

    def wait_until_healthy(
        self,
        path: str = "/health",
        *,
        timeout: Duration = "120s",
        interval: Duration = "2s",
        status: int | Iterable[int] = 200,
        json: Sequence[str] | str | None = None,
        contains: str | None = None,
        name: str | None = None,
        interrupted: Callable[[], object] | None = None,
        verify: Verify | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
    ) -> ProbeResult:
        """Probe ``path`` until it answers as wanted (a fresh deploy settling) or ``timeout`` passes.

        ``interrupted`` is asked before each wait between attempts; a true answer (a signal's name)
        ends the wait early, with ``stop_reason`` "interrupted".
        """
        __tracebackhide__ = True
        return self.request(
            "GET",
            path,
            status=status,
            json=json,
            contains=contains,
            name=name,
            verify=verify,
            ca_bundle=ca_bundle,
            _policy=self._wait_policy(timeout, interval),
            _interrupted=interrupted,
        )


class AsyncProbe(_ProbeBase):
    """The asyncio twin of ``Probe``: ``await probe.get("/health/ready", status=200)``."""

    async def request(
        self,
        method: str,
        path: str = "",
        *,
        status: int | Iterable[int] | None = None,
        json: Sequence[str] | str | None = None,
        contains: str | None = None,
        expect_headers: Mapping[str, str] | None = None,
        thresholds: Sequence[str] | str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        retries: int | None = None,
        timeout: Duration | None = None,
        deadline: Duration | None = None,
        name: str | None = None,
        verify: Verify | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        _policy: RetryPolicy | None = None,
        _interrupted: Callable[[], object] | None = None,
    ) -> ProbeResult:
        """See ``Probe.request``."""
        __tracebackhide__ = True
        run = self._prepare(
            method,
            path,
            status=status,
            json=json,
            contains=contains,
            expect_headers=expect_headers,
            thresholds=thresholds,
            retries=retries,
            timeout=timeout,
            deadline=deadline,
            policy=_policy,
            interrupted=_interrupted,
        )
        args = self._request_args(run, headers, body)
        async with httpx.AsyncClient(**self._client_args(verify, ca_bundle)) as client:
            while True:
                begun = run.begin()
                try:
                    async with client.stream(**args, timeout=run.timeout()) as response:
                        body = bytearray()
                        async for chunk in response.aiter_bytes():
                            run.keep(body, chunk, response.request)
                except httpx.TransportError as exc:
                    run.record(begun, None, exc)
                else:
                    run.record(begun, response, None, bytes(body))
                delay = run.next_delay()
                if delay is None:
                    break
                await asyncio.sleep(delay)
        return self._finish(run, name)

    async def get(self, path: str = "", **options: Any) -> ProbeResult:
        __tracebackhide__ = True
        return await self.request("GET", path, **options)

    async def head(self, path: str = "", **options: Any) -> ProbeResult:
        __tracebackhide__ = True
        return await self.request("HEAD", path, **options)

    async def post(self, path: str = "", **options: Any) -> ProbeResult:
        __tracebackhide__ = True
        return await self.request("POST", path, **options)

    async def wait_until_healthy(
        self,
        path: str = "/health",
        *,
        timeout: Duration = "120s",
        interval: Duration = "2s",
        status: int | Iterable[int] = 200,
        json: Sequence[str] | str | None = None,
        contains: str | None = None,
        name: str | None = None,
        interrupted: Callable[[], object] | None = None,
        verify: Verify | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
    ) -> ProbeResult:
        """See ``Probe.wait_until_healthy``."""
        __tracebackhide__ = True
        return await self.request(
            "GET",
            path,
            status=status,
            json=json,
            contains=contains,
            name=name,
            verify=verify,
            ca_bundle=ca_bundle,
            _policy=self._wait_policy(timeout, interval),
            _interrupted=interrupted,
        )
