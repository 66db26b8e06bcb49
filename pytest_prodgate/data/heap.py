"""Give the C heap's freed pages back to the operating system after an in-process database's big sort.

SQLite runs inside this process: a ``GROUP BY`` over millions of rows (``unique``, ``reconcile``) sorts in
buffers of up to ``PRAGMA cache_size`` (2 MiB by default) that SQLite frees when the statement ends, but
glibc's allocator keeps freed heap pages mapped, so the process's RSS grows by a few MB per such rule
and stays there (10M rows: +4 to +8 MB over the benchmark's rules, +0.7 MB after ``malloc_trim(0)``).
``malloc_trim(0)`` returns those free pages (Orthanc and Icinga 2 call it for the same reason, and Dask's
docs advise it for its workers). Elsewhere (musl, macOS, Windows) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

__all__ = ["release_freed_heap"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_heap() -> bool:
    """``malloc_trim(0)`` where the C library has it (glibc); True when it ran."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
