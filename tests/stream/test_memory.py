"""The worker's memory helpers: records right-sized before they wait in flight."""

from __future__ import annotations

import tracemalloc

import orjson

from stream.memory import right_sized


def held_bytes(make: object) -> int:
    """Bytes still allocated by 1,000 results of ``make()`` (kept alive while measured)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [make() for _ in range(1000)]  # type: ignore[operator]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept) == 1000
    return held


def test_right_sized_keeps_the_bytes_and_only_their_length() -> None:
    record = {"event_id": "e-1", "features": {f"f{i}": i / 7 for i in range(20)}}
    printed = orjson.dumps(record)
    assert right_sized(printed) == printed
    copy_cost = held_bytes(lambda: right_sized(orjson.dumps(record)))
    assert copy_cost < 1000 * (len(printed) + 100)  # the bytes object's header is ~33 bytes
