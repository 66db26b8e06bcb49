"""Scenarios: weighted request templates (fast, pre-encoded) and scripted user flows.

A ``Template`` is encoded to request bytes once, before the load starts; the hot path only
writes those bytes. A ``Flow`` is an ``async def flow(user)`` run for each iteration with a
``VirtualUser`` (see ``users.py``); it is more flexible and slower.
"""

from __future__ import annotations

import json as jsonlib
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import quote, urlencode

from pytest_prodgate.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.performance.users import VirtualUser

__all__ = ["Flow", "Scenario", "Template", "encode_request", "ok_table", "shop_scenarios"]

_NAME = re.compile(r"^[A-Za-z_][\w-]*$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
USER_AGENT = "prodgate-load/0.1"


def ok_table(expect: int | Sequence[int] | None) -> bytes:
    """A 600-entry lookup (status -> 1 if expected): one index on the hot path instead of a set lookup."""
    table = bytearray(600)
    if expect is None:
        for status in range(100, 400):
            table[status] = 1
    else:
        codes = (expect,) if isinstance(expect, int) else tuple(expect)
        for code in codes:
            if not isinstance(code, int) or not 100 <= code < 600:
                raise ConfigError(f"expected status {code!r} is not an HTTP status code (100-599)")
            table[code] = 1
    return bytes(table)


def encode_request(
    method: str,
    target: str,
    host: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> bytes:
    """Encode one HTTP/1.1 request (keep-alive) to bytes."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    names = {k.lower() for k, _ in pairs}
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    if "user-agent" not in names:
        lines.append(f"User-Agent: {USER_AGENT}")
    if "accept" not in names:
        lines.append("Accept: */*")
    lines += [f"{k}: {v}" for k, v in pairs]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def encode_body(
    json: Any = None, form: Mapping[str, Any] | None = None, body: bytes | str | None = None
) -> tuple[bytes, str | None]:
    """The body bytes and their content type for a JSON, form or raw body."""
    given = sum(x is not None for x in (json, form, body))
    if given > 1:
        raise ConfigError("give only one of json=, form= and body=")
    if json is not None:
        return jsonlib.dumps(json, separators=(",", ":")).encode(), "application/json"
    if form is not None:
        return urlencode(form, doseq=True).encode(), "application/x-www-form-urlencoded"
    if body is not None:
        return (body.encode() if isinstance(body, str) else bytes(body)), None
    return b"", None


def build_target(base_path: str, path: str, query: Mapping[str, Any] | None, base_query: str = "") -> str:
    """``base_path`` + ``path`` + ``?query``, percent-encoded; an empty ``path`` is the base URL itself."""
    if not path:
        target = (base_path or "/") + (f"?{base_query}" if base_query else "")
        if query:
            target += ("&" if "?" in target else "?") + urlencode(query, doseq=True)
        return target
    if not path.startswith("/"):
        path = "/" + path
    target = base_path.rstrip("/") + quote(path, safe="/:@!$&'()*+,;=-._~%?")
    if query:
        target += ("&" if "?" in target else "?") + urlencode(query, doseq=True)
    return target


@dataclass(frozen=True)
class Template:
    """A request template: pre-encoded once, sent at full speed.

    ``vars`` fills ``{name}`` placeholders in the path and query values, cycling through each
    sequence (``Template("/products/{id}", vars={"id": range(1, 21)})`` makes 20 variants).
    An empty ``path`` is the target URL itself. ``expect`` is the expected status (an int or several); by default any status below 400 passes.
    """

    path: str = ""
    method: str = "GET"
    query: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    json: Any = None
    form: Mapping[str, Any] | None = None
    body: bytes | str | None = None
    expect: int | tuple[int, ...] | None = None
    name: str | None = None
    weight: float = 1.0
    vars: Mapping[str, Sequence[Any]] | None = None

    @property
    def label(self) -> str:
        return self.name or _label_from_path(self.path)

    def variants(
        self, base_path: str, host: str, extra_headers: Mapping[str, str], base_query: str = ""
    ) -> list[bytes]:
        """Every pre-encoded variant of this request."""
        payload, content_type = encode_body(self.json, self.form, self.body)
        headers = dict(extra_headers)
        headers.update(self.headers or {})
        if content_type and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = content_type
        method = self.method.upper()
        columns = {k: list(v) for k, v in (self.vars or {}).items()}
        for key, column in columns.items():
            if not column:
                raise ConfigError(f"scenario {self.label!r}: vars[{key!r}] is empty")
        count = max((len(v) for v in columns.values()), default=1)
        out = []
        for i in range(count):
            values = {k: v[i % len(v)] for k, v in columns.items()}
            path = _fill(self.path, values, self.label)
            query = {k: _fill(str(v), values, self.label) for k, v in (self.query or {}).items()} or None
            out.append(encode_request(method, build_target(base_path, path, query, base_query), host, headers, payload))
        return out


FlowFunction = Callable[["VirtualUser"], Awaitable[Any]]


@dataclass(frozen=True)
class Flow:
    """A scripted user flow: ``async def flow(user)`` run once per iteration by a virtual user."""

    func: FlowFunction
    name: str | None = None
    weight: float = 1.0

    @property
    def label(self) -> str:
        return self.name or str(getattr(self.func, "__name__", "flow"))


Scenario = Union[Template, Flow]  # noqa: UP007 - a runtime alias, kept for Python 3.9 readers


def _fill(text: str, values: Mapping[str, Any], label: str) -> str:
    def repl(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ConfigError(f"scenario {label!r}: placeholder {{{key}}} has no entry in vars")
        return str(values[key])

    return _PLACEHOLDER.sub(repl, text)


def _label_from_path(path: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9_]+", path.split("?")[0]) if w and not w.startswith("{")]
    return "_".join(words[:2]) or ("home" if path else "default")


def normalise(scenarios: Scenario | Iterable[Scenario | FlowFunction | str] | None) -> list[Scenario]:
    """Validate scenarios: accept templates, flows, bare async functions and path strings."""
    if scenarios is None:
        return [Template("", name="default")]
    if isinstance(scenarios, (Template, Flow, str)) or callable(scenarios):
        scenarios = [scenarios]
    out: list[Scenario] = []
    for item in scenarios:
        if isinstance(item, str):
            item = Template(item)
        elif not isinstance(item, (Template, Flow)):
            if not callable(item):
                raise ConfigError(f"{item!r} is not a scenario. Expected a Template, a Flow or an async function")
            item = Flow(item)
        if not isinstance(item.weight, (int, float)) or isinstance(item.weight, bool) or item.weight <= 0:
            raise ConfigError(f"scenario {item.label!r}: weight must be a positive number, got {item.weight!r}")
        if not _NAME.match(item.label):
            raise ConfigError(
                f"scenario name {item.label!r} must be a word (letters, digits, _ or -): it scopes figures such as '{item.label}.p95'"
            )
        out.append(item)
    if not out:
        raise ConfigError("no scenarios given")
    names = [s.label for s in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"scenario names must be unique; repeated: {', '.join(dupes)}. Give each a name=")
    return out


def pick_table(weights: Sequence[float], size: int = 4096, seed: int | None = None) -> list[int]:
    """A shuffled table of scenario indexes in proportion to ``weights``: the hot path cycles through it."""
    total = float(sum(weights))
    counts = [round(w / total * size) for w in weights]
    counts = [max(c, 1) for c in counts]
    table = [i for i, c in enumerate(counts) for _ in range(c)]
    random.Random(seed).shuffle(table)
    return table


@dataclass(frozen=True)
class ShopCatalogue:
    """The values the ready-made shop scenarios cycle through: the demo service's seeds."""

    product_ids: Sequence[int] = tuple(range(1, 41))
    categories: Sequence[str] = ("coffee", "tea", "brewing", "mugs", "grinders", "kettles", "snacks", "gifts")
    queries: Sequence[str] = ("espresso", "tea", "mug", "grinder", "kettle")


def shop_scenarios(
    product_ids: Sequence[int] | None = None,
    categories: Sequence[str] | None = None,
    queries: Sequence[str] | None = None,
) -> list[Scenario]:
    """The seeds' weighted shop traffic: home 30%, search 25%, product 20%, listing 15%, category 10%."""
    cat = ShopCatalogue()
    return [
        Template("/", name="home", weight=30),
        Template("/search", query={"q": "{q}"}, vars={"q": list(queries or cat.queries)}, name="search", weight=25),
        Template("/products/{id}", vars={"id": list(product_ids or cat.product_ids)}, name="product", weight=20),
        Template("/products", name="listing", weight=15),
        Template("/categories/{slug}", vars={"slug": list(categories or cat.categories)}, name="category", weight=10),
    ]
