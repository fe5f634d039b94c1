"""Reading topic partitions up to the end offsets they had when the read began.

Every process needs this: the stream restores its changelog and its released windows, the
retrain worker reads a slice of ``labeled``, the tests read what a worker wrote. A partition is
done when the consumer's *position* reaches its end offset, not when a record with the last
offset arrives: the last offsets of a compacted or transactional topic may hold no record.

Two forms of one loop, for the two client libraries the project uses: :func:`read_to_end` for
aiokafka (the stream's event loop) and :func:`read_to_end_blocking` for kafka-python.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from centinela.exceptions import BrokerUnavailableError

STALL_SECONDS = 120.0

OnRecords = Callable[[Any, list[Any]], None]
"""Called with a partition and its next records, in offset order, up to the end offset."""


def _starts(
    partitions: Iterable[Any],
    begins: Mapping[Any, int],
    ends: Mapping[Any, int],
    starts: Mapping[Any, int] | None,
    tail: int | None,
) -> dict[Any, int]:
    """Where each partition's read begins: the given offset, or ``tail`` records before the
    end, never before the log start."""
    chosen = dict(starts or {})
    if tail is not None:
        chosen = {tp: ends[tp] - tail for tp in partitions}
    return {tp: max(begins[tp], chosen.get(tp, begins[tp])) for tp in partitions}


def _trim(records: list[Any], end: int) -> list[Any]:
    """The records before ``end`` (a fetch may return records written after the read began)."""
    if not records or records[-1].offset < end:
        return records
    return [record for record in records if record.offset < end]


async def read_to_end(
    consumer: Any,  # aiokafka.AIOKafkaConsumer, started
    partitions: list[Any],
    on_records: OnRecords,
    *,
    starts: Mapping[Any, int] | None = None,
    tail: int | None = None,
    stall_seconds: float = STALL_SECONDS,
) -> dict[Any, int]:
    """Read ``partitions`` from ``starts`` (default: the log start; or the last ``tail``
    records) to their end offsets now; return those end offsets. Raises
    BrokerUnavailableError when no record comes for ``stall_seconds`` while some partition is
    unfinished."""
    if not partitions:
        return {}
    consumer.assign(list(partitions))
    ends = await consumer.end_offsets(list(partitions))
    begins = await consumer.beginning_offsets(list(partitions))
    pending = set()
    for tp, offset in _starts(partitions, begins, ends, starts, tail).items():
        await consumer.position(tp)  # let the assignment's offset reset finish before seeking
        if offset < ends[tp]:
            consumer.seek(tp, offset)
            pending.add(tp)
    last_progress = time.monotonic()
    while pending:
        fetched = await consumer.getmany(*pending, timeout_ms=1000)
        for tp, records in fetched.items():
            if tp in pending and records:
                on_records(tp, _trim(records, ends[tp]))
                last_progress = time.monotonic()
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
        _check_stall(pending, last_progress, stall_seconds)
    return ends


def read_to_end_blocking(
    consumer: Any,  # kafka.KafkaConsumer
    partitions: list[Any],
    on_records: OnRecords,
    *,
    starts: Mapping[Any, int] | None = None,
    tail: int | None = None,
    stall_seconds: float = STALL_SECONDS,
    max_records: int = 10_000,
) -> dict[Any, int]:
    """:func:`read_to_end` for a kafka-python consumer."""
    if not partitions:
        return {}
    consumer.assign(list(partitions))
    consumer.resume(*partitions)  # a consumer read with before keeps its finished ones paused
    ends = consumer.end_offsets(list(partitions))
    begins = consumer.beginning_offsets(list(partitions))
    pending = set()
    for tp, offset in _starts(partitions, begins, ends, starts, tail).items():
        if offset < ends[tp]:
            consumer.seek(tp, offset)
            pending.add(tp)
        else:
            consumer.pause(tp)
    last_progress = time.monotonic()
    while pending:
        fetched = consumer.poll(timeout_ms=500, max_records=max_records)
        for tp, records in fetched.items():
            if tp in pending and records:
                on_records(tp, _trim(records, ends[tp]))
                last_progress = time.monotonic()
        for tp in list(pending):
            if consumer.position(tp) >= ends[tp]:
                consumer.pause(tp)
                pending.discard(tp)
        _check_stall(pending, last_progress, stall_seconds)
    return ends


def _check_stall(pending: set[Any], last_progress: float, stall_seconds: float) -> None:
    if pending and time.monotonic() - last_progress > stall_seconds:
        raise BrokerUnavailableError(
            f"reading {len(pending)} partition(s) to their end stalled for {stall_seconds:.0f}s"
        )
