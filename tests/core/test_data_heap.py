"""SQLite sorts inside this process: after a SQLite rule the freed sort buffers go back to the system."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pytest_prodgate.data import runner
from pytest_prodgate.data.heap import release_freed_heap
from pytest_prodgate.data.rules import make_rule
from pytest_prodgate.data.runner import DataChecker
from tests import data_shop

FRAGMENTED_HEAP = """
import ctypes, psutil
from pytest_prodgate.data.heap import release_freed_heap
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
rss = lambda: psutil.Process().memory_info().rss
size = 64 * 1024  # under glibc's mmap threshold: on the heap, as SQLite's sorter buffers end up
blocks = [libc.malloc(size) for _ in range(1000)]
for block in blocks:
    ctypes.memset(block, 1, size)
keep = libc.malloc(64)  # in use above them: free() alone cannot shrink the heap past it
ctypes.memset(keep, 1, 64)
for block in blocks:
    libc.free(block)
held = rss()
ran = release_freed_heap()
print(held, rss(), ran)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's (Linux)")
def test_freed_heap_pages_go_back_to_the_system_when_released() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FRAGMENTED_HEAP], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    held, after, ran = int(out[0]), int(out[1]), out[2]
    # 64 MB freed but kept by the allocator; released, RSS drops by most of it
    assert (ran, (held - after) // 2**20 >= 32) == ("True", True), (held, after)


@pytest.fixture(params=["sqlite", "postgresql"])
def shop_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with data_shop.database(request.param, tmp_path) as url:
        engine = sa.create_engine(url)
        data_shop.seed_healthy(engine)
        engine.dispose()
        yield url


def test_a_sqlite_rule_releases_the_freed_heap_when_it_ends(shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only SQLite runs in this process; a server database's sort memory is the server's.
    released: list[bool] = []

    def counted() -> bool:
        released.append(release_freed_heap())
        return released[-1]

    monkeypatch.setattr(runner, "release_freed_heap", counted)
    with DataChecker(shop_url) as checker:
        result = checker.run(make_rule("unique", {"table": "products", "column": "sku"}))
    assert (result.violations, len(released)) == (0, 1 if shop_url.startswith("sqlite") else 0)
