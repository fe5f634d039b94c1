"""What the join's disk tier pays per expiry call once entries have expired for a while
(target: <= 1 ms for a call that finds nothing, after an hour's worth of a partition's
entries expired; docs/benchmarks.md, "Expiry").

Every batch asks the join to expire what its watermark passed (three scans per partition:
events, expired ids, labels); most calls find nothing, since an expiry bucket is 1/64 of the
TTL (56 s at the default 3,600 s). RocksDB keeps a deleted key as a tombstone until it
compacts it away, and a scan that starts at the first bucket walks every tombstone of what
expired before. The spill store starts its scan where the last one ended.

One partition at the defaults: 1,000 events/s (4,000/s over 4 partitions), a bucket of 56,250
entries of 200 bytes, one TTL (64 buckets) held. Each round writes a bucket, expires the
oldest, then times empty calls: the store as it is, and the same store made to scan from the
first bucket (as before) on the same data, alternated. Baseline, same run: the latter.

A second row: the longest call while a bucket expires (target: within the latency target's
100 ms, since the stream waits for it). Each round writes its bucket a batch's share at a
time, with an expiry call per batch, as the worker does; a call removes ``EXPIRY_CHUNK`` keys
more than came since the last. Baseline, same run: the whole bucket in one call (as before),
alternated by round.

    .venv/bin/python bench/bench_spill_expiry.py [--rounds 64] [--bucket 56250]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import BenchResult, record
from stream import spill
from stream.spill import SpillStore

COMMAND = ".venv/bin/python bench/bench_spill_expiry.py"
HELD_BUCKETS = 64  # one TTL: the join holds 64 buckets before the first expires
EMPTY_CALLS = 5  # per round and variant
VALUE = b"v" * 200
TARGET_MS = 1.0
CALL_TARGET_MS = 100.0
BATCH_SHARE = 250  # a partition's share of a batch of 1,000 events (4 partitions)


def empty_call_ms(store: SpillStore, bucket: int, *, from_first: bool) -> float:
    if from_first:
        store._floor.clear()  # as before: the scan starts at the first bucket
    started = time.perf_counter()
    found = store.pop_buckets_before(b"e", bucket)
    elapsed = (time.perf_counter() - started) * 1000
    assert not found
    return elapsed


def write_and_expire_ms(
    store: SpillStore, newest: int, size: int, expire_below: int, *, whole: bool
) -> tuple[int, float]:
    """Write bucket ``newest`` a batch's share at a time and expire what lies below
    ``expire_below`` once per batch, as the worker does, then call until a call finds
    nothing: the entries expired and the longest expiry call (ms). ``whole``: everything
    expired in one call, as before."""
    chunk = spill.EXPIRY_CHUNK
    if whole:
        spill.EXPIRY_CHUNK = 2**62
    try:
        found, longest, written = 0, 0.0, 0
        while True:
            if written < size:
                share = range(written, min(size, written + BATCH_SHARE))
                store.put_bucket(b"e", newest, ((f"{newest}-{i}", VALUE) for i in share))
                written += len(share)
            started = time.perf_counter()
            count = len(store.pop_buckets_before(b"e", expire_below))
            longest = max(longest, (time.perf_counter() - started) * 1000)
            found += count
            if not count and written >= size:
                return found, longest
    finally:
        spill.EXPIRY_CHUNK = chunk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=HELD_BUCKETS)
    parser.add_argument("--bucket", type=int, default=56_250)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: the two ways to expire alternate by round")
    with tempfile.TemporaryDirectory(prefix="centinela-bench-spill-") as folder:
        store = SpillStore(Path(folder) / "p0")
        for bucket in range(HELD_BUCKETS):
            store.put_bucket(b"e", bucket, ((f"{bucket}-{i}", VALUE) for i in range(args.bucket)))
        assert not store.pop_buckets_before(b"e", 0)  # the worker calls every batch: none due yet
        timings: dict[bool, list[float]] = {False: [], True: []}
        longest: dict[bool, list[float]] = {False: [], True: []}  # per round, by ``whole``
        for oldest in range(args.rounds):
            newest = HELD_BUCKETS + oldest
            whole = oldest % 2 == 1
            found, call_ms = write_and_expire_ms(
                store, newest, args.bucket, oldest + 1, whole=whole
            )
            assert found == args.bucket
            longest[whole].append(call_ms)
            for _ in range(EMPTY_CALLS):
                for from_first in (False, True):
                    timings[from_first].append(
                        empty_call_ms(store, oldest + 1, from_first=from_first)
                    )
            if oldest % 8 == 7:
                print(
                    f"{(oldest + 1) * args.bucket:,} expired: empty call "
                    f"{statistics.median(timings[False][-EMPTY_CALLS:]):.3f} ms, from the first "
                    f"bucket {statistics.median(timings[True][-EMPTY_CALLS:]):.1f} ms; "
                    f"longest call expiring a bucket {max(longest[False][-4:]):.0f} ms, "
                    f"in one call {max(longest[True][-4:]):.0f} ms",
                    flush=True,
                )
        store.destroy()
    tail = slice(-EMPTY_CALLS * max(1, args.rounds // 8), None)  # the last eighth of the rounds
    ours, before = (statistics.median(timings[v][tail]) for v in (False, True))
    expired = args.rounds * args.bucket
    record(
        BenchResult(
            key="spill_expiry",
            what=f"the join's disk tier, an expiry call that finds nothing, after {expired:,} "
            f"of one partition's entries expired (buckets of {args.bucket:,})",
            figure=f"median {ours:.3f} ms per call (last eighth of the rounds)",
            baseline=f"the same store scanning from the first bucket: median {before:.1f} ms",
            ratio=f"{before / ours:,.0f}x less",
            target=f"<= {TARGET_MS:g} ms per empty call",
            met=ours <= TARGET_MS,
            command=COMMAND + _changed(args),
        )
    )
    chunked, whole = (statistics.median(longest[v]) for v in (False, True))
    record(
        BenchResult(
            key="spill_expiry_call",
            what=f"the join's disk tier, the longest expiry call while a bucket of "
            f"{args.bucket:,} of one partition's entries expires, a call per batch",
            figure=f"median over rounds {chunked:.0f} ms (worst {max(longest[False]):.0f} ms)",
            baseline=f"the whole bucket in one call: median {whole:.0f} ms "
            f"(worst {max(longest[True]):.0f} ms)",
            ratio=f"{whole / chunked:.1f}x less",
            target=f"<= {CALL_TARGET_MS:g} ms per call (the latency target's p99)",
            met=max(longest[False]) <= CALL_TARGET_MS,
            command=COMMAND + _changed(args),
        )
    )
    return 0


def _changed(args: argparse.Namespace) -> str:
    parts = [f" --rounds {args.rounds}"] if args.rounds != HELD_BUCKETS else []
    parts += [f" --bucket {args.bucket}"] if args.bucket != 56_250 else []
    return "".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
