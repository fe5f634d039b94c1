"""What the label join holds per waiting event, packed (the stream's form) against JSON.

20,000 bench events (20 float features) are validated as the worker does, then added to a
``JoinState`` twice: once with the packed records the worker keeps (``stream.packed``), once
with the events' JSON (the form before packing, and the one kept for events with integer
features). ``tracemalloc`` counts what the join holds: records, ids, probabilities, the join's
own structures. Then the labels come, and what stays (the ids, for duplicates) is counted too.
Also timed: making the records, and reading an event back for its labeled example.

    .venv/bin/python bench/bench_join_memory.py [--events 20000]

Not one of the targets in docs/benchmarks.md: it explains the memory bench's figures and the
setting's documentation.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stream_support import bench_model, encoded_events
from stream.join import JoinState, Scored
from stream.packed import MARK, Layout, event_fields, kept_records
from stream.validation import FeatureValidator, ValidEvent, ValidLabel


def held_bytes(
    events: list[ValidEvent], make_records: Callable[[], list[bytes]]
) -> tuple[float, float]:
    """Bytes per event the join holds while events wait, and once they are all labeled."""
    gc.collect()
    tracemalloc.start()
    records = make_records()
    # Own copies of the ids and probabilities, as the worker has (they come from Kafka and
    # from the model), so that they are counted.
    join = JoinState(ttl_seconds=3600.0)
    for event, record in zip(events, records, strict=True):
        probabilities = (event.numeric[0] * 1.0, event.numeric[1] * 1.0)
        event_id = event.event_id.encode().decode()
        join.add_event(Scored(event_id, event.event_ts, "1", 1, probabilities, record))
    del records
    waiting = tracemalloc.get_traced_memory()[0] / len(events)
    for event in events:
        join.add_label(ValidLabel(event.event_id, 1, event.event_ts + 5.0, "", b""))
    gc.collect()
    joined = tracemalloc.get_traced_memory()[0] / len(events)
    tracemalloc.stop()
    return waiting, joined


def microseconds(work: Callable[[], Any], per: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best / per * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    _, profile, _, _ = bench_model()
    layout = Layout.of(profile)
    _, values, _ = encoded_events(args.events)
    batch = FeatureValidator(profile).validate_many(values)
    events = [r for r in batch.results if isinstance(r, ValidEvent)]
    packed = kept_records(events, batch.numeric)
    as_json = [event.raw for event in events]
    if any(record[:1] != MARK for record in packed):
        raise SystemExit("some bench events did not pack: the comparison would be wrong")
    n = len(events)
    sizes = {
        "packed": held_bytes(events, lambda: kept_records(events, batch.numeric)),
        "JSON": held_bytes(events, lambda: [bytes(bytearray(e.raw)) for e in events]),
    }
    make = microseconds(lambda: kept_records(events, batch.numeric), n)
    read = {
        "packed": microseconds(lambda: [event_fields(r, layout) for r in packed], n),
        "JSON": microseconds(lambda: [event_fields(r, layout) for r in as_json], n),
    }
    print(f"{n:,} events, 20 float features each; record {sum(map(len, packed)) / n:.0f} bytes "
          f"packed, {sum(map(len, as_json)) / n:.0f} as JSON")  # fmt: skip
    for form, (waiting, joined) in sizes.items():
        print(f"{form:>6}: {waiting:4.0f} bytes per waiting event, {joined:3.0f} per joined id; "
              f"read back {read[form]:.2f} us/event")  # fmt: skip
    ratio = sizes["JSON"][0] / sizes["packed"][0]
    print(f"packing: {make:.2f} us/event; a waiting event takes {ratio:.1f}x less packed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
