"""Keeping the worker's resident memory close to what it actually holds.

Every micro-batch allocates and frees tens of megabytes of short-lived objects, from several
threads. glibc keeps freed memory in per-thread arenas and returns little of it: measured RSS
grew by ~150 MB above the live data. Two arenas, a fixed mmap threshold, and handing free
pages back after batches keep RSS near the working set. Elsewhere (not glibc) all are no-ops.
Records printed by orjson are copied to their own length before they wait to be published.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 256 * 1024


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt  # noqa: B018 - glibc only
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def tune_malloc(arenas: int = 2, mmap_threshold: int = MMAP_THRESHOLD_BYTES) -> None:
    """Call before threads start: fewer arenas, less memory held back per thread; and buffers
    above ``mmap_threshold`` (fetches, encoded batches, window columns) mapped on their own
    and unmapped when freed. glibc otherwise raises the threshold each time such a buffer is
    freed, up to 32 MB, and from then on carves them from the heap, which fragments."""
    libc = _libc()
    if libc is None:
        return
    if not libc.mallopt(M_ARENA_MAX, arenas):
        log.debug("mallopt(M_ARENA_MAX) refused")
    if not libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold):
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")


def release_free_memory() -> None:
    """Return free heap pages to the operating system (cheap: a few milliseconds)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def right_sized(printed: bytes) -> bytes:
    """A copy of orjson's output that owns just its length.

    orjson's bytes keep the whole buffer they were written into: 4-8 KB for a 500-byte record,
    up to twice the length for large ones. Fine for a moment; costly when thousands of records
    or megabytes of changelog wait in flight (measured: ~110 MB at the memory benchmark's peak).
    """
    return memoryview(printed).tobytes()
