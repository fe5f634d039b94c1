"""Stream worker memory over a long run with labels (target: flat, <= 500 MB RSS over
2,000,000 events; docs/benchmarks.md).

One `centinela stream` worker scores a live stream while this process feeds it events and
their labels (90% of them, 5 s later in event time; the other 10% never come and wait out the
join TTL). The defaults are what a user runs: the default join TTL (3,600 s) and an event clock
as fast as the feed (4,000 events/s), so over 2,000,000 events (500 s of event time) nothing
leaves the join by its TTL: only the join's memory bound (CENTINELA_JOIN_MEMORY_ENTRIES, the
rest on disk) keeps RSS flat. ``--ttl`` and ``--event-rate`` change them (the rows before
this one used 60 s and 1,000 events/s). Wall-clock feeding runs at ``--rate``, below the
worker's throughput, so that no backlog builds up. The worker's RSS is sampled every second.

A run over two TTLs of event time (28,800,000 events at the defaults) is the proof that nothing
grows with the TTL: by then the join has held and expired a whole TTL's events. It is recorded
as a row of its own. It takes two hours at 4,000 events/s; a faster feed must stay below what
the worker keeps up with (on a 2-core machine beside the broker and this feeder, 9,000/s was
kept up with through both TTLs once expiry removed a chunk per call; 13,000/s never: see
docs/benchmarks.md). Such a run is a row of its own (``_fast_feed``): its batches are fuller
than a user's at that event clock. The broker keeps ~1 GB per partition of the busy topics
(:func:`cap_topic_sizes`): uncapped, two TTLs at the defaults write ~90 GB.

The worker talks to an `mlflow server` (its default setting, `http://127.0.0.1:5000`, what
`centinela up` runs); `--sqlite` points it at a SQLite store instead, the embedded setup, which
loads SQLAlchemy and the store into the worker (~40 MB more).

Baseline, same run: the worker's RSS once ready, before the first event.

"Flat" compares like with like. The feed comes in chunks, so RSS swings by 40-55 MB every few
seconds; the run is cut in tenths, and each tenth gives its floor (lowest sample) and its peak
(highest). Through the floors of the third to the last tenth, and through their peaks, a
least-squares line may rise by at most 5% (the first two tenths are warm-up: the join fills its
memory budget). A leak shows in both lines; a chunk does not.

The rule before this one compared the last quarter's highest sample with a single sample at the
end of the first quarter, a peak against whatever the sample caught. It passed a build that
leaked ~8 MB per drift report (its sample fell on a peak) and failed builds whose floor was flat
(it fell in a trough); it is still printed, not the verdict. docs/benchmarks.md has both runs.

    .venv/bin/python bench/bench_memory.py [--events 2000000] [--rate 4000] [--sqlite]
    .venv/bin/python bench/bench_memory.py --events 28800000 --rate 4000   # two TTLs
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
from aiokafka import AIOKafkaProducer
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

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
from centinela.contract.kafka_clients import aiokafka_config
from centinela.contract.settings import Settings
from centinela.contract.topics import open_admin
from stream.internal_topics import PARTIALS_MAX_BYTES, InternalTopics

COMMAND = ".venv/bin/python bench/bench_memory.py"
# The broker writes ~3 KB per event over all topics; two TTLs at the defaults would need ~90 GB.
KEPT_BYTES_PER_PARTITION = 1 << 30
SEGMENT_BYTES = 256 << 20
DYNAMIC_TOPIC_CONFIG = 1  # a DescribeConfigs entry's source: set on the topic itself
WARM_UP_TENTHS = 2
MAX_RISE = 0.05  # of the floor (or peak) line's start, over the rest of the run
LABEL_DELAY = 5.0
TTL = Settings.model_fields["join_ttl_seconds"].default  # the default a user runs
EVENT_RATE = 4_000.0  # events/s of event time: the feed's default pace
GIVE_UP_SILENT_SECONDS = 300.0  # a worker silent this long is hung, not busy: the run fails


@dataclass(frozen=True)
class Flatness:
    floors: list[float]  # lowest RSS per tenth of the run, MB
    peaks: list[float]  # highest RSS per tenth
    floor_rise: float  # rise of the line through the floors after warm-up, as a fraction
    peak_rise: float

    @property
    def flat(self) -> bool:
        return self.floor_rise <= MAX_RISE and self.peak_rise <= MAX_RISE


def flatness(rss: np.ndarray) -> Flatness:
    tenths = np.array_split(rss, 10)
    floors = [float(part.min()) for part in tenths]
    peaks = [float(part.max()) for part in tenths]
    return Flatness(floors, peaks, _rise(floors[WARM_UP_TENTHS:]), _rise(peaks[WARM_UP_TENTHS:]))


def _rise(values: list[float]) -> float:
    """How much a least-squares line through ``values`` rises from the first to the last."""
    slope, start = np.polyfit(np.arange(len(values)), values, 1)
    return float(slope * (len(values) - 1) / start)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def feed(
    settings: Settings,
    total: int,
    rate: float,
    chunk: int,
    event_rate: float,
    done: list[int],
    *,
    first: int = 0,
) -> None:
    """``total`` events (ids and event times from number ``first`` on) and 90% of their labels,
    at ``rate`` events/s of wall clock; ``done`` gets the count after each chunk."""
    producer = AIOKafkaProducer(linger_ms=5, max_batch_size=512 * 1024, **aiokafka_config(settings))
    await producer.start()
    names = topics(settings)
    rng = np.random.default_rng(7)
    started = time.monotonic()
    try:
        for start in range(first, first + total, chunk):
            count = min(chunk, first + total - start)
            keys, values, labels = encoded_events(
                count, start=start, rate=event_rate, label_delay=LABEL_DELAY, seed=start
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
            done.append(start + count - first)
            ahead = started + (start + count - first) / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
    finally:
        await producer.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--rate", type=float, default=4_000.0, help="events/s fed (wall clock)")
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--ttl", type=float, default=TTL)
    parser.add_argument(
        "--event-rate", type=float, default=EVENT_RATE, help="events/s of event time"
    )
    parser.add_argument(
        "--batch-size", type=int, default=Settings.model_fields["batch_size"].default
    )
    parser.add_argument("--sqlite", action="store_true", help="a SQLite store, no MLflow server")
    parser.add_argument("--samples", type=Path, help="also write every sample to this CSV file")
    parser.add_argument("--evaluate", type=Path, help="judge a saved --samples file; run nothing")
    args = parser.parse_args()
    if args.evaluate:
        return evaluate(args.evaluate)
    samples: list[tuple[float, float, float]] = []  # (seconds, events scored, RSS MB)
    with tempfile.TemporaryDirectory(prefix="centinela-bench-memory-") as folder:
        home = Path(folder)
        with broker(home) as bootstrap, ExitStack() as stack:
            settings = bench_settings(
                bootstrap,
                home,
                batch_size=args.batch_size,
                join_ttl_seconds=args.ttl,
                window_seconds=20.0,
            )
            settings = with_tracking(settings, home, stack, sqlite=args.sqlite)
            register_champion(settings)
            prepare(settings)
            cap_topic_sizes(settings)
            worker = Worker(settings, home / "worker.log")
            try:
                worker.wait_ready()
                time.sleep(3)
                baseline = rss_mb(worker.process.pid)
                done: list[int] = []
                feeder = threading.Thread(
                    target=lambda: asyncio.run(
                        feed(settings, args.events, args.rate, args.chunk, args.event_rate, done)
                    ),
                    daemon=True,  # a failed run ends; the feeder would retry a stopped broker
                )
                feeder.start()
                silence = sample(worker, feeder, args.events, samples)
                feeder.join()
            except Exception:
                keep_log(home / "worker.log")
                raise
            finally:
                worker.stop()
                if args.samples:  # a failed run's samples too: it may have run for an hour
                    write_samples(args.samples, samples)
    processed = samples[-1][1]
    rss = np.asarray([s[2] for s in samples])
    for seconds, count, mb in samples[:: max(1, len(samples) // 20)]:
        print(f"{seconds:7.0f}s {count:12,.0f} events scored  RSS {mb:7.1f} MB")
    print(f"baseline (ready, idle) {baseline:.0f} MB")
    print(f"the worker's /metrics unanswered for at most {silence:.0f} s")
    shape = describe(rss)
    peak = float(rss.max())
    # The proof is two TTLs of event time: by then the join has expired as much as it
    # ever holds. Such a run is a row of its own; the shorter run stays the everyday check.
    two_ttls = 2 * args.ttl * args.event_rate
    covers_two_ttls = args.events >= two_ttls
    required = two_ttls if covers_two_ttls else 2_000_000
    length = f"{required:,.0f} events" + (" (two join TTLs)" if covers_two_ttls else "")
    key = "stream_memory" + ("_two_ttls" if covers_two_ttls else "")
    # A feed faster than the event clock (to fit two TTLs in less than two hours) is not what
    # a user at that clock runs: its batches are fuller. It is a row of its own, named so.
    fast_feed = args.rate > args.event_rate
    record(
        BenchResult(
            key=key + ("_fast_feed" if fast_feed else "") + ("_sqlite" if args.sqlite else ""),
            what=f"stream worker RSS over {processed:,.0f} events with labels, join TTL "
            f"{args.ttl:,.0f} s, event clock {args.event_rate:,.0f} events/s"
            + (f", fed at {args.rate:,.0f} events/s" if fast_feed else "")
            + (", MLflow on a SQLite store (no server)" if args.sqlite else ""),
            figure=f"peak {peak:.0f} MB; floors per tenth {_mbs(shape.floors)} MB, "
            f"peaks {_mbs(shape.peaks)} MB",
            baseline=f"the same worker ready and idle: {baseline:.0f} MB",
            ratio=f"after warm-up, floor line {shape.floor_rise:+.1%}, peak line "
            f"{shape.peak_rise:+.1%} (limit +{MAX_RISE:.0%})",
            target=f"flat, <= 500 MB RSS over {length}",
            met=shape.flat and peak <= 500 and processed >= required,
            command=f"{COMMAND} --events {args.events} --rate {args.rate:g} "
            f"--batch-size {args.batch_size}"
            + _changed(args)
            + (" --sqlite" if args.sqlite else ""),
            notes=f"{processed:,.0f} events scored (+90% labeled); join TTL {args.ttl:g} s, "
            f"windows 20 s, event time {args.event_rate:g}/s; MLflow: "
            + ("SQLite store" if args.sqlite else "tracking server")
            + f"; the worker's /metrics unanswered for at most {silence:.0f} s",
        )
    )
    return 0


def sample(
    worker: Worker,
    feeder: threading.Thread,
    events: int,
    samples: list[tuple[float, float, float]],
) -> float:
    """Sample the worker's RSS and events scored every second until it has scored ``events``
    or stopped making progress; returns the longest time its /metrics did not answer. A worker
    busy for seconds (a disk that stalls its RocksDB writes, say) answers late: its RSS is
    still sampled and the run goes on, the silence reported rather than ending an hour's run."""
    started = time.monotonic()
    last, silent_since, longest_silence = 0.0, None, 0.0
    while True:
        if worker.process.poll() is not None:
            raise RuntimeError("the worker exited during the run")
        now = time.monotonic()
        try:
            count = worker.scored()
        except requests.RequestException as error:
            count = last
            silent_since = silent_since or now
            print(f"{now - started:7.0f}s the worker's /metrics did not answer", flush=True)
            if now - silent_since > GIVE_UP_SILENT_SECONDS:
                silent = now - silent_since
                raise RuntimeError(f"the worker has not answered for {silent:.0f} s") from error
        else:
            if silent_since is not None:  # from the first unanswered request to this answer
                longest_silence = max(longest_silence, time.monotonic() - silent_since)
                silent_since = None
        samples.append((now - started, count, rss_mb(worker.process.pid)))
        if count >= events:
            return longest_silence
        if not feeder.is_alive() and count == last and silent_since is None:
            time.sleep(10)
            if worker.scored() == count:
                return longest_silence  # the worker stopped making progress
        last = count
        time.sleep(1.0)


def keep_log(log: Path) -> None:
    """A copy of a failed run's worker log outside the run's folder, which is deleted."""
    kept = Path(tempfile.gettempdir()) / f"centinela-bench-memory-worker-{int(time.time())}.log"
    shutil.copyfile(log, kept)
    print(f"the run failed; the worker's log: {kept}", file=sys.stderr)


def cap_topic_sizes(settings: Settings) -> None:
    """The broker keeps at most ~1 GB per partition of the busy topics, whatever the run's
    length (the worker has read them long before; the compacted state log is left alone).
    A topic's own settings (the partials' larger records, say) are kept: an alteration
    replaces them all."""
    names = topics(settings)
    partials = InternalTopics.from_settings(settings).partials
    # What each topic is created with, stated rather than only read back: a topic created a
    # moment ago may not show its own settings yet (a run lost the partials' record limit so).
    created = {name: names.configs(name, settings) for name in names.names()}
    created[partials] = {"max.message.bytes": str(PARTIALS_MAX_BYTES)}
    busy = [names.features, names.labels, names.predictions, names.shadow_predictions]
    busy += [names.labeled, partials]
    capped = {"retention.bytes": str(KEPT_BYTES_PER_PARTITION), "segment.bytes": str(SEGMENT_BYTES)}
    admin = open_admin(settings)
    try:
        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    name,
                    configs=_own(admin, name) | created[name] | capped,
                )
                for name in busy
            ]
        )
    finally:
        admin.close()


def _own(admin: KafkaAdminClient, topic: str) -> dict[str, str]:
    """The settings given to ``topic`` itself (not the broker's defaults)."""
    (response,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    ((_, _, _, _, entries),) = response.resources
    return {entry[0]: entry[1] for entry in entries if entry[3] == DYNAMIC_TOPIC_CONFIG}


def _changed(args: argparse.Namespace) -> str:
    """The TTL and event clock in the row's command, when they are not the defaults."""
    defaults = {"ttl": TTL, "event_rate": EVENT_RATE}
    return "".join(
        f" --{name.replace('_', '-')} {getattr(args, name):g}"
        for name, default in defaults.items()
        if getattr(args, name) != default
    )


def describe(rss: np.ndarray) -> Flatness:
    """Print the run's shape: the verdict's lines, then the old rule and quarter medians."""
    shape = flatness(rss)
    print(f"floor (lowest) per tenth: {_mbs(shape.floors)} MB")
    print(f"peak (highest) per tenth: {_mbs(shape.peaks)} MB")
    verdict = "flat" if shape.flat else "NOT flat"
    print(f"from tenth {WARM_UP_TENTHS + 1} on, the floor line rises {shape.floor_rise:+.1%} and "
          f"the peak line {shape.peak_rise:+.1%} (limit +{MAX_RISE:.0%}): {verdict}")  # fmt: skip
    quarter = max(1, len(rss) // 4)
    early, late = float(rss[quarter - 1]), float(rss[-quarter:].max())
    medians = " / ".join(f"{np.median(part):.0f}" for part in np.array_split(rss, 4))
    old_rule = f"last quarter max {late:.0f} MB against {early:.0f} after a quarter"
    print(f"not the verdict: quarter medians {medians} MB; the old rule: {old_rule}, "
          f"{late / early - 1:+.0%}")  # fmt: skip
    return shape


def _mbs(values: list[float]) -> str:
    return " ".join(f"{v:.0f}" for v in values)


def write_samples(path: Path, samples: list[tuple[float, float, float]]) -> None:
    lines = [f"{seconds:.1f},{count:.0f},{mb:.1f}" for seconds, count, mb in samples]
    path.write_text("seconds,scored,rss_mb\n" + "\n".join(lines) + "\n")


def evaluate(path: Path) -> int:
    """The verdict on a saved run (``--samples``), without running anything."""
    rss = np.loadtxt(path, delimiter=",", skiprows=1, usecols=2, ndmin=1)
    shape = describe(rss)
    print(f"peak {rss.max():.0f} MB; {'met' if shape.flat and rss.max() <= 500 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
