"""Keeping the worker's resident memory close to what it actually holds.

Every micro-batch allocates and frees tens of megabytes of short-lived objects, from several
threads. glibc keeps freed memory in per-thread arenas and returns little of it, so RSS grew
far above the live data. Two arenas, fixed mmap and trim thresholds, and handing free pages
back twice a second keep RSS near the working set (the runs: docs/benchmarks.md, "Stream").
Elsewhere (not glibc) all are no-ops.
Records printed by orjson are copied to their own length before they wait to be published.
Apache Arrow, which pandas loads if it can, is not loaded at all (:func:`leave_out_arrow`).
A partition's fetched records that aiokafka drops unread are freed at once
(:func:`free_dropped_fetches`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib.abc
import importlib.machinery
import logging
import sys
from collections.abc import Sequence
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 8 * 1024 * 1024


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


def tune_malloc(
    arenas: int = 2,
    mmap_threshold: int = MMAP_THRESHOLD_BYTES,
    trim_threshold: int = TRIM_THRESHOLD_BYTES,
) -> None:
    """Call before threads start.

    - Fewer arenas: less memory held back per thread.
    - Buffers above ``mmap_threshold`` (whole fetch responses) are mapped on their own and
      unmapped when freed. glibc otherwise raises the threshold each time such a buffer is
      freed, up to 32 MB, and from then on carves them from the heap, which fragments.
    - The heap is not shrunk on every free (``trim_threshold``): the buffers of a batch, 1-4 MB
      produce requests and frames, would otherwise be handed back and faulted in again on every
      batch. Encoding an aiokafka produce request runs several times faster with these
      settings than with glibc's defaults, and slower with a 256 KB mmap threshold; trim
      thresholds under 8 MB fell back to the defaults' speed (bench/bench_malloc.py).
      :func:`release_free_memory`, called twice a second, hands back what stays free; trimming
      less often, with a higher threshold, left RSS peaks under bursts higher. The measured
      figures are in docs/benchmarks.md ("Stream").
    """
    libc = _libc()
    if libc is None:
        return
    for option, value in (
        (M_ARENA_MAX, arenas),
        (M_MMAP_THRESHOLD, mmap_threshold),
        (M_TRIM_THRESHOLD, trim_threshold),
    ):
        if not libc.mallopt(option, value):
            log.debug("mallopt(%d, %d) refused", option, value)


def release_free_memory() -> None:
    """Return free heap pages to the operating system (cheap: a few milliseconds)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def free_dropped_fetches() -> None:
    """Free the records aiokafka fetched for a partition and then dropped unread, at once.

    aiokafka drops what it fetched for a partition that was paused (or seeked) before the
    records were read. Each fetch holds its partition's whole response, up to
    ``max_partition_fetch_bytes`` (4 MB here), in a reference cycle with the half-read iterator
    over it, so only a full garbage collection frees it, and those are rare in this worker
    (:func:`stream.commands.tune_garbage_collector`). On a backlog flow control pauses and
    resumes partitions every few batches: 67 such responses, 280 MB, were alive at the peak
    of one run (memray, docs/benchmarks.md, "A backlog's memory"). Letting go of the iterator
    when the records are dropped breaks the cycle. Idempotent.
    """
    from aiokafka.consumer.fetcher import FetchResult

    check_assignment = FetchResult.check_assignment
    if getattr(check_assignment, "frees_dropped", False):
        return

    @functools.wraps(check_assignment)
    def check_and_free(self: Any, tp: Any) -> bool:
        records = self._partition_records
        if check_assignment(self, tp):
            return True
        if records is not None:
            records._records_iterator = None  # the iterator's frame held the records
        return False

    check_and_free.frees_dropped = True  # type: ignore[attr-defined]
    FetchResult.check_assignment = check_and_free


class _NoArrow(importlib.abc.MetaPathFinder):
    """Answers every import of ``pyarrow`` (or a submodule) as a missing module."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "pyarrow" or fullname.startswith("pyarrow."):
            raise ModuleNotFoundError(f"{fullname} is left out of the stream worker", name=fullname)
        return None


def leave_out_arrow() -> None:
    """Make ``import pyarrow`` fail in this process, as if it were not installed.

    pandas imports Arrow when it is installed (MLflow installs it), only to offer Arrow-backed
    dtypes, and Arrow's libraries take ~34 MB of the worker's RSS. The worker never uses them:
    it scores from numpy arrays and loads models with MLflow's scikit-learn flavour. pandas
    and scikit-learn treat a missing Arrow as a normal case. Call before pandas is imported;
    the retrain worker and the producers, which read and write Parquet, do not call it.
    """
    if "pyarrow" in sys.modules:
        return  # too late to leave it out; nothing to save
    if not any(isinstance(finder, _NoArrow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoArrow())


def right_sized(printed: bytes) -> bytes:
    """A copy of orjson's output that owns just its length.

    orjson's bytes keep the whole buffer they were written into: 4-8 KB for a 500-byte record,
    up to twice the length for large ones. Fine for a moment; costly when thousands of records
    or megabytes of changelog wait in flight (~110 MB at the memory benchmark's peak:
    docs/benchmarks.md).
    """
    return memoryview(printed).tobytes()
