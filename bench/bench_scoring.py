"""Scoring throughput, Kafka in -> predictions out (targets in docs/benchmarks.md: >= 20,000
events/s per worker, >= 50x a naive one-predict-per-event loop, >= 0.5x a bare consume-and-parse
loop).

Measured in one run, on the same broker and the same pre-produced topic of 20-feature events:

1. ours: one `centinela stream` worker process (the real app: validation, micro-batch scoring,
   join state, windows, changelog, predictions); the rate is the number of predictions over the
   span between the first and the last prediction's Kafka timestamp, read once the worker has
   scored them all (so that nothing else competes with the worker for the CPU, as nothing
   competes with the bare loop);
2. naive: consume with aiokafka, ``json.loads``, MLflow pyfunc ``predict`` on a one-row
   DataFrame per event, produce one prediction per event;
3. bare: aiokafka ``getmany`` + ``json.loads`` of every value, nothing else (run before and after
   the worker; the better of the two is the baseline).

The worker talks to an `mlflow server`, its default setting; `--sqlite` gives it a SQLite store
inside the process instead (its monitoring writes and registry polls then run in the worker).

    .venv/bin/python bench/bench_scoring.py [--events 200000] [--naive-events 3000] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def bare_loop(settings: Settings, topic: str, n: int) -> float:
    """Events/s of getmany + json.loads, timed from the first record to the n-th."""
    consumer = AIOKafkaConsumer(
        topic,
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


def worker_rate(settings: Settings, home: Path, n: int) -> tuple[float, str]:
    worker = Worker(settings, home / "worker.log")
    try:
        worker.wait_ready()
        worker.wait_scored(n, timeout=900)
        stamps = message_times(settings, topics(settings).predictions, n, timeout=300)
        if len(stamps) < n:
            raise RuntimeError(f"only {len(stamps)} of {n} predictions arrived")
        span = (max(stamps) - min(stamps)) / 1000.0
        metrics = worker.metrics()
        batches = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("centinela_batches_total")
        )
        return n / span, f"{n} events in {span:.1f}s, {batches:.0f} batches"
    finally:
        worker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--naive-events", type=int, default=3_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite store, no MLflow server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="centinela-bench-scoring-") as folder:
        home = Path(folder)
        with broker(home) as bootstrap, ExitStack() as stack:
            settings = bench_settings(bootstrap, home, batch_size=args.batch_size)
            settings = with_tracking(settings, home, stack, sqlite=args.sqlite)
            register_champion(settings)
            prepare(settings)
            features = topics(settings).features
            keys, values, _ = encoded_events(args.events)
            asyncio.run(produce(settings, features, keys, values))
            print(f"produced {args.events} events to {features}", flush=True)
            bare_before = asyncio.run(bare_loop(settings, features, args.events))
            print(f"bare consume+parse: {bare_before:,.0f} events/s", flush=True)
            naive = asyncio.run(naive_loop(settings, features, args.naive_events))
            print(f"naive pyfunc loop: {naive:,.0f} events/s", flush=True)
            ours, detail = worker_rate(settings, home, args.events)
            print(f"stream worker: {ours:,.0f} events/s ({detail})", flush=True)
            bare_after = asyncio.run(bare_loop(settings, features, args.events))
            print(f"bare consume+parse (after): {bare_after:,.0f} events/s", flush=True)
    bare = max(bare_before, bare_after)
    met = ours >= 20_000 and ours >= 50 * naive and ours >= 0.5 * bare
    record(
        BenchResult(
            key="stream_scoring_sqlite" if args.sqlite else "stream_scoring",
            what="scoring throughput, Kafka in -> predictions out, 20 features, 1 worker"
            + (", MLflow on a SQLite store (no server)" if args.sqlite else ""),
            figure=f"{ours:,.0f} events/s ({detail})",
            baseline=f"naive pyfunc-per-event loop {naive:,.0f} events/s; bare getmany+json.loads "
            f"{bare:,.0f} events/s",
            ratio=f"{ours / naive:,.0f}x naive; {ours / bare:.2f}x bare",
            target=">= 20,000 events/s; >= 50x naive; >= 0.5x bare",
            met=met,
            command=f"{COMMAND} --events {args.events} --batch-size {args.batch_size}"
            + (" --sqlite" if args.sqlite else ""),
            notes=f"batch_size={args.batch_size}, 4 partitions, broker on the same 2 cores",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
