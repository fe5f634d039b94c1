"""Scoring throughput, Kafka in -> predictions out, as users run it: the worker's default batch
size, and a label per event flowing beside the events (targets in docs/benchmarks.md).

Two rows in one run, on the same broker, each against a bare loop over the same topics:

1. **with labels** (what users run): 20-feature events and a label per event, whose label time
   is some hundred events after the event's time (``--label-lag`` events at the scenario's
   4,000 events/s), pre-produced to the features and labels topics. The worker scores, joins,
   windows and writes labeled examples; its rate is the events over the span from the first
   prediction's Kafka timestamp to the moment its ``/metrics`` count every event scored and
   every label read (asked every 0.1 s). Baseline: aiokafka ``getmany`` + ``json.loads`` of every
   value of both topics, in events (with their labels) per second. Target >= 0.35x.
2. **features only**: the same events, no labels, in topics of their own; the rate is the
   predictions over the span between the first and the last prediction's Kafka timestamp, read
   once the worker has scored them all. Baselines: the bare loop over the features topic
   (target >= 0.6x) and a naive loop: consume, ``json.loads``, MLflow pyfunc ``predict`` on a
   one-row DataFrame per event, one produce per event (target >= 50x).

Each worker is one `centinela stream` process (the real app: validation, micro-batch scoring,
join state, windows, changelog, predictions) and nothing else competes with it for the CPU, as
nothing competes with the bare loops, which run before and after the workers (the better run is
the baseline). The load average is printed before and after: above ~1.5 on this 2-core machine
(broker included) the figures are not comparable across runs, only the ratios in one run.

The worker talks to an `mlflow server`, its default setting; `--sqlite` gives it a SQLite store
inside the process instead (its monitoring writes and registry polls then run in the worker).

    .venv/bin/python bench/bench_scoring.py [--events 200000] [--batch-size 1000]
        [--label-lag 300] [--no-labels] [--naive-events 3000] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import mlflow
import pandas as pd
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import BenchResult, record
from bench.stream_support import (
    Worker,
    bench_settings,
    broker,
    encoded_events,
    message_times,
    prepare,
    produce,
    register_champion,
    topics,
    with_tracking,
)
from centinela.contract.kafka_clients import aiokafka_config
from centinela.contract.settings import Settings

COMMAND = ".venv/bin/python bench/bench_scoring.py"
DEFAULT_BATCH_SIZE = int(Settings.model_fields["batch_size"].default)  # the worker's default
RATE = 4000.0  # events/s of the scenario clock: label times are --label-lag events later


async def bare_loop(settings: Settings, topics: list[str], n: int) -> float:
    """Records/s of getmany + json.loads over ``topics``, timed from the first record to the
    n-th."""
    consumer = AIOKafkaConsumer(
        *topics,
        group_id=f"bare-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        **aiokafka_config(settings),
    )
    await consumer.start()
    try:
        seen, started = 0, 0.0
        while seen < n:
            data = await consumer.getmany(timeout_ms=1000, max_records=5000)
            if data and not started:
                started = time.perf_counter()
            for messages in data.values():
                for message in messages:
                    json.loads(message.value)
                    seen += 1
        return n / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def naive_loop(settings: Settings, topic: str, n: int) -> float:
    """Events/s of a loop that calls pyfunc predict once per event and sends each prediction."""
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/{settings.model_name}@champion")
    consumer = AIOKafkaConsumer(
        topic,
        group_id=f"naive-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **aiokafka_config(settings),
    )
    producer = AIOKafkaProducer(**aiokafka_config(settings))
    await consumer.start()
    await producer.start()
    out = f"{topic}-naive-predictions"
    try:
        seen, started = 0, 0.0
        while seen < n:
            data = await consumer.getmany(timeout_ms=1000, max_records=500)
            if data and not started:
                started = time.perf_counter()
            for messages in data.values():
                for message in messages:
                    event = json.loads(message.value)
                    predicted = model.predict(pd.DataFrame([event["features"]]))
                    value = {"event_id": event["event_id"], "predicted_class": int(predicted[0])}
                    await producer.send(out, json.dumps(value).encode(), key=message.key)
                    seen += 1
                    if seen >= n:
                        break
        await producer.flush()
        return n / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


def metric(metrics: str, name: str) -> float:
    """A sample of the worker's /metrics text (0 before it is first counted)."""
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def labels_done(worker: Worker, n: int, timeout: float) -> tuple[float, str]:
    """Wall time (s since the epoch) at which the worker has scored ``n`` events and read ``n``
    labels, asked every 0.1 s; and its /metrics then."""
    deadline = time.monotonic() + timeout
    while True:
        metrics = worker.metrics()
        scored = metric(metrics, 'centinela_events_total{outcome="scored"}')
        read = metric(metrics, 'centinela_labels_total{outcome="read"}')
        if scored >= n and read >= n:
            return time.time(), metrics
        if time.monotonic() > deadline:
            raise RuntimeError(f"{scored:.0f} events scored, {read:.0f} labels read of {n}")
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited; see {worker.log.name}")
        time.sleep(0.1)


def worker_rate(settings: Settings, home: Path, n: int, *, labels: bool) -> tuple[float, str]:
    worker = Worker(settings, home / f"worker-{'labels' if labels else 'features'}.log")
    try:
        worker.wait_ready()
        if labels:
            done, metrics = labels_done(worker, n, timeout=900)
            # Every prediction's timestamp: the first poll may miss a partition's first one.
            stamps = message_times(settings, topics(settings).predictions, n, timeout=300)
            span = done - min(stamps) / 1000.0
            joined = metric(metrics, 'centinela_labels_total{outcome="joined"}')
            what = f"{n} events and {n} labels ({joined:.0f} joined) in {span:.1f}s"
        else:
            worker.wait_scored(n, timeout=900)
            stamps = message_times(settings, topics(settings).predictions, n, timeout=300)
            if len(stamps) < n:
                raise RuntimeError(f"only {len(stamps)} of {n} predictions arrived")
            span = (max(stamps) - min(stamps)) / 1000.0
            metrics = worker.metrics()
            what = f"{n} events in {span:.1f}s"
        batches = metric(metrics, "centinela_batches_total")
        return n / span, f"{what}, {batches:.0f} batches"
    finally:
        worker.stop()


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--naive-events", type=int, default=3_000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--label-lag", type=int, default=300, help="events from event to label")
    parser.add_argument("--no-labels", action="store_true", help="the features-only row alone")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite store, no MLflow server")
    args = parser.parse_args()
    n, with_labels = args.events, not args.no_labels
    load_before = load_average()
    print(f"load average before: {load_before} ({os.cpu_count()} cores)", flush=True)
    with tempfile.TemporaryDirectory(prefix="centinela-bench-scoring-") as folder:
        home = Path(folder)
        with broker(home) as bootstrap, ExitStack() as stack:
            plain = bench_settings(bootstrap, home, batch_size=args.batch_size)
            plain = with_tracking(plain, home, stack, sqlite=args.sqlite)
            register_champion(plain)
            # The labeled row has topics (and a changelog) of its own: same broker, same model.
            labeled = plain.model_copy(update={"topic_prefix": f"benchl{uuid.uuid4().hex[:6]}."})
            keys, values, label_values = encoded_events(
                n, rate=RATE, label_delay=args.label_lag / RATE
            )
            features = topics(plain).features
            prepare(plain)
            asyncio.run(produce(plain, features, keys, values))
            both = [topics(labeled).features, topics(labeled).labels]
            if with_labels:
                prepare(labeled)
                asyncio.run(produce(labeled, both[0], keys, values))
                asyncio.run(produce(labeled, both[1], keys, label_values))
            print(f"produced {n} events to {features}"
                  + (f", and {n} events with their labels to {both}" if with_labels else ""),
                  flush=True)  # fmt: skip

            def bares(when: str) -> tuple[float, float]:
                alone = asyncio.run(bare_loop(plain, [features], n))
                print(f"bare getmany+json.loads, features ({when}): {alone:,.0f} events/s",
                      flush=True)  # fmt: skip
                if not with_labels:
                    return alone, 0.0
                pair = asyncio.run(bare_loop(labeled, both, 2 * n)) / 2
                print(f"bare getmany+json.loads, features+labels ({when}): {pair:,.0f} events/s "
                      f"({2 * pair:,.0f} records/s)", flush=True)  # fmt: skip
                return alone, pair

            bare_before = bares("before")
            naive = asyncio.run(naive_loop(plain, features, args.naive_events))
            print(f"naive pyfunc loop: {naive:,.0f} events/s", flush=True)
            if with_labels:
                ours_labeled, detail_labeled = worker_rate(labeled, home, n, labels=True)
                print(f"stream worker with labels: {ours_labeled:,.0f} events/s "
                      f"({detail_labeled})", flush=True)  # fmt: skip
            ours, detail = worker_rate(plain, home, n, labels=False)
            print(f"stream worker, features only: {ours:,.0f} events/s ({detail})", flush=True)
            bare_after = bares("after")
    load_after = load_average()
    bare, bare_pair = max(bare_before[0], bare_after[0]), max(bare_before[1], bare_after[1])
    load = f"load average {load_before} before, {load_after} after ({os.cpu_count()} cores)"
    command = (
        f"{COMMAND} --events {n} --batch-size {args.batch_size} --label-lag {args.label_lag}"
        + (" --no-labels" if args.no_labels else "")
        + (" --sqlite" if args.sqlite else "")
    )
    notes = f"batch_size={args.batch_size}, 4 partitions, broker on the same 2 cores; {load}"
    suffix = "_sqlite" if args.sqlite else ""
    store = ", MLflow on a SQLite store (no server)" if args.sqlite else ""
    rows = []
    if with_labels:
        rows.append(("with labels", ours_labeled, bare_pair, 0.35))
        record(
            BenchResult(
                key=f"stream_scoring_labels{suffix}",
                what="scoring throughput with a label per event, Kafka in -> predictions and "
                f"labeled examples out, 20 features, 1 worker{store}",
                figure=f"{ours_labeled:,.0f} events/s ({detail_labeled})",
                baseline=f"bare getmany+json.loads over the features and labels topics "
                f"{bare_pair:,.0f} events/s",
                ratio=f"{ours_labeled / bare_pair:.2f}x bare",
                target=">= 0.35x bare (features and labels)",
                met=ours_labeled >= 0.35 * bare_pair,
                command=command,
                notes=f"a label per event, {args.label_lag} events after it; {notes}",
            )
        )
    rows.append(("features only", ours, bare, 0.6))
    record(
        BenchResult(
            key=f"stream_scoring{suffix}",
            what=f"scoring throughput, Kafka in -> predictions out, 20 features, 1 worker{store}",
            figure=f"{ours:,.0f} events/s ({detail})",
            baseline=f"naive pyfunc-per-event loop {naive:,.0f} events/s; bare getmany+json.loads "
            f"{bare:,.0f} events/s",
            ratio=f"{ours / naive:,.0f}x naive; {ours / bare:.2f}x bare",
            target=">= 20,000 events/s; >= 50x naive; >= 0.6x bare",
            met=ours >= 20_000 and ours >= 50 * naive and ours >= 0.6 * bare,
            command=command,
            notes=notes,
        )
    )
    print(f"\n{'row':<15} {'worker events/s':>16} {'bare events/s':>14} {'ratio':>6} {'target':>7}")
    for name, figure, baseline, target in rows:
        print(f"{name:<15} {figure:>16,.0f} {baseline:>14,.0f} {figure / baseline:>5.2f}x "
              f"{'>= ' + format(target, '.2f'):>7}")  # fmt: skip
    print(f"naive pyfunc loop {naive:,.0f} events/s: {ours / naive:,.0f}x (features only)")
    print(load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
