"""The virtual user a flow is given: requests with JSON, headers, per-user cookies, and checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http.cookies import SimpleCookie
from typing import Any

from pytest_prodgate.errors import CheckFailed
from pytest_prodgate.performance.connection import FlowConnection, RequestFailed, Response, Target, open_connection
from pytest_prodgate.performance.recorder import ScenarioStats
from pytest_prodgate.performance.scenarios import build_target, encode_body, encode_request, ok_table

__all__ = ["CheckFailed", "VirtualUser"]

_DEFAULT_OK = ok_table(None)


class VirtualUser:
    """One simulated user: its own keep-alive connection, cookie jar and ``data`` dict.

    ``await user.get("/search", params={"q": "lamp"})`` returns a ``Response``; a transport
    failure (connect, timeout, reset) is counted and ends the iteration. ``user.check(cond,
    "name")`` counts a failed check as an error of kind ``check``.
    """

    def __init__(
        self,
        index: int,
        target: Target,
        *,
        headers: Mapping[str, str] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
    ) -> None:
        self.index = index
        self.target = target
        self.headers = dict(headers or {})
        self.cookies: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.stats: ScenarioStats | None = None  # the scenario being run; set by the engine
        self.conn: FlowConnection | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        body: bytes | str | None = None,
        expect: int | Sequence[int] | None = None,
    ) -> Response:
        """Send one request on this user's connection (reconnecting if needed)."""
        payload, content_type = encode_body(json, data, body)
        merged = dict(self.headers)
        merged.update(headers or {})
        if content_type and not any(k.lower() == "content-type" for k in merged):
            merged["Content-Type"] = content_type
        if self.cookies and not any(k.lower() == "cookie" for k in merged):
            merged["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        raw = encode_request(
            method.upper(), build_target(self.target.base_path, path, params), self.target.host_header, merged, payload
        )
        ok = _DEFAULT_OK if expect is None else ok_table(expect)
        conn = await self._connection()
        response = await conn.request(raw, self.stats, ok, self.read_timeout)
        self._keep_cookies(response)
        return response

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Response:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Response:
        return await self.request("DELETE", path, **kwargs)

    def check(self, condition: Any, name: str, *, stop: bool = False) -> bool:
        """Count a failed check (kind ``check``) under ``name``; ``stop=True`` also ends the iteration."""
        if condition:
            return True
        stats = self.stats
        if stats is not None:
            stats.checks_failed[name] = stats.checks_failed.get(name, 0) + 1
            stats.error("check", f"check {name!r} failed")
        if stop:
            raise CheckFailed(name)
        return False

    async def _connection(self) -> FlowConnection:
        conn = self.conn
        if conn is None or conn.closed:
            try:
                conn = await open_connection(FlowConnection, self.target, self.connect_timeout)  # type: ignore[assignment]
            except RequestFailed as exc:
                stats = self.stats
                if stats is not None:
                    stats.requests += 1
                    stats.error(exc.kind, exc.detail)
                raise
            self.conn = conn
        return conn  # type: ignore[return-value]

    def _keep_cookies(self, response: Response) -> None:
        for key, value in response.headers:
            if key.lower() == "set-cookie":
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(value)
                except Exception:  # noqa: BLE001, S112 - a malformed cookie is the server's problem, not the flow's
                    continue
                for name, morsel in jar.items():
                    self.cookies[name] = morsel.value

    def close(self) -> None:
        if self.conn is not None:
            self.conn.cut()
            self.conn = None
