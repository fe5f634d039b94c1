"""Stream worker memory over a long run with labels (DESIGN.md §7: flat, <= 500 MB RSS over
2,000,000 events).

One `centinela stream` worker scores a live stream while this process feeds it events and
their labels (90% of them, 5 s later in event time; the other 10% never come and wait out the
join TTL). Event time runs at 1,000 events/s (a scenario clock), so the join TTL (60 s) and the
20 s windows bound the state; wall-clock feeding runs at ``--rate``, below the worker's
throughput, so that no backlog builds up. The worker's RSS is sampled every second.

The worker talks to an `mlflow server` (its default setting, `http://127.0.0.1:5000`, what
`centinela up` runs); `--sqlite` points it at a SQLite store instead, the embedded setup, which
loads SQLAlchemy and the store into the worker (~40 MB more).

Baseline, same run: the worker's RSS once ready, before the first event. "Flat" means the RSS
in the last quarter of the run is within 10% of the RSS at the end of the first quarter.

    .venv/bin/python bench/bench_memory.py [--events 2000000] [--rate 4000] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from aiokafka import AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import BenchResult, record
from bench.stream_support import (
    Worker,
    bench_settings,
    broker,
    encoded_events,
    prepare,
    register_champion,
    topics,
    with_tracking,
)
from stream.kafka import aiokafka_config
from stream.settings import Settings

COMMAND = ".venv/bin/python bench/bench_memory.py"
EVENT_RATE = 1000.0  # events per second of event time
LABEL_DELAY = 5.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def feed(settings: Settings, total: int, rate: float, chunk: int, done: list[int]) -> None:
    producer = AIOKafkaProducer(linger_ms=5, max_batch_size=512 * 1024, **aiokafka_config(settings))
    await producer.start()
    names = topics(settings)
    rng = np.random.default_rng(7)
    started = time.monotonic()
    try:
        for start in range(0, total, chunk):
            count = min(chunk, total - start)
            keys, values, labels = encoded_events(
                count, start=start, rate=EVENT_RATE, label_delay=LABEL_DELAY, seed=start
            )
            keep = rng.random(count) < 0.9
            futures = [
                await producer.send(names.features, v, key=k)
                for k, v in zip(keys, values, strict=True)
            ]
            futures += [
                await producer.send(names.labels, v, key=k)
                for k, v, kept in zip(keys, labels, keep, strict=True)
                if kept
            ]
            await asyncio.gather(*futures)
            done.append(start + count)
            ahead = started + (start + count) / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
    finally:
        await producer.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--rate", type=float, default=4_000.0, help="events/s fed (wall clock)")
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=2_000)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite store, no MLflow server")
    args = parser.parse_args()
    samples: list[tuple[float, float, float]] = []  # (seconds, events scored, RSS MB)
    with tempfile.TemporaryDirectory(prefix="centinela-bench-memory-") as folder:
        home = Path(folder)
        with broker(home) as bootstrap, ExitStack() as stack:
            settings = bench_settings(
                bootstrap,
                home,
                batch_size=args.batch_size,
                join_ttl_seconds=60.0,
                window_seconds=20.0,
            )
            settings = with_tracking(settings, home, stack, sqlite=args.sqlite)
            register_champion(settings)
            prepare(settings)
            worker = Worker(settings, home / "worker.log")
            try:
                worker.wait_ready()
                time.sleep(3)
                baseline = rss_mb(worker.process.pid)
                done: list[int] = []
                feeder = threading.Thread(
                    target=lambda: asyncio.run(
                        feed(settings, args.events, args.rate, args.chunk, done)
                    )
                )
                started = time.monotonic()
                feeder.start()
                last = -1.0
                while True:
                    count = worker.scored()
                    samples.append((time.monotonic() - started, count, rss_mb(worker.process.pid)))
                    if count >= args.events:
                        break
                    if not feeder.is_alive() and count == last:
                        time.sleep(10)
                        if worker.scored() == count:
                            break  # the worker stopped making progress
                    last = count
                    time.sleep(1.0)
                feeder.join()
            finally:
                worker.stop()
    processed = samples[-1][1]
    rss = np.asarray([s[2] for s in samples])
    quarter = max(1, len(samples) // 4)
    early, late = float(rss[quarter - 1]), float(rss[-quarter:].max())
    peak = float(rss.max())
    flat = late <= early * 1.10
    for seconds, count, mb in samples[:: max(1, len(samples) // 20)]:
        print(f"{seconds:7.0f}s {count:12,.0f} events scored  RSS {mb:7.1f} MB")
    # Not the verdict, which stays the rule above: the median of each quarter tells a trend
    # (growth) from swings (single high samples).
    medians = " / ".join(f"{np.median(part):.0f}" for part in np.array_split(rss, 4))
    print(f"baseline (ready, idle) {baseline:.0f} MB; after a quarter {early:.0f} MB; "
          f"last quarter max {late:.0f} MB; peak {peak:.0f} MB")  # fmt: skip
    print(f"quarter medians {medians} MB")
    # The feed comes in chunks (--chunk events, then their labels): each one lifts RSS for a
    # second or two. Lowest and highest sample per tenth of the run tell those swings from growth.
    tenths = " ".join(f"{part.min():.0f}-{part.max():.0f}" for part in np.array_split(rss, 10))
    print(f"lowest-highest RSS per tenth of the run: {tenths} MB")
    record(
        BenchResult(
            key="stream_memory_sqlite" if args.sqlite else "stream_memory",
            what=f"stream worker RSS over {processed:,.0f} events with labels"
            + (", MLflow on a SQLite store (no server)" if args.sqlite else ""),
            figure=f"peak {peak:.0f} MB; {early:.0f} MB after a quarter, {late:.0f} MB in the "
            f"last quarter",
            baseline=f"the same worker ready and idle: {baseline:.0f} MB",
            ratio=f"growth over the last three quarters {100 * (late / early - 1):+.0f}%; "
            f"quarter medians {medians} MB",
            target="flat, <= 500 MB RSS over 2,000,000 events",
            met=flat and peak <= 500 and processed >= 2_000_000,
            command=f"{COMMAND} --events {args.events} --rate {args.rate:g} "
            f"--batch-size {args.batch_size}" + (" --sqlite" if args.sqlite else ""),
            notes=f"{processed:,.0f} events scored (+90% labeled); join TTL 60 s, windows 20 s, "
            f"event time {EVENT_RATE:g}/s; MLflow: "
            + ("SQLite store" if args.sqlite else "tracking server"),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
