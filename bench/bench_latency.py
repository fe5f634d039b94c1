"""Produce -> prediction latency at 5,000 events/s (target: p99 <= 250 ms; docs/benchmarks.md).

One `centinela stream` worker runs at its default settings; this process produces 20-feature
events at a steady 5,000 events/s (a tick of 50 events every 10 ms) with, as in every real
deployment, a label per event ``--label-lag`` events (300) after it, in the same ticks
(``--label-lag 0``: features only). In the same event loop it reads

1. ours: the predictions topic: latency = time a prediction is read - time its event was sent;
2. baseline: the features topic itself, with a bare consumer: the same measure for Kafka alone
   (produce -> consume, no scoring), i.e. the floor the broker and clients set on this machine.

The first seconds (warm-up) are dropped. ``--timeline`` also prints, per second of sending, the
slowest prediction's stages, so that a stall shows when it happened.

    .venv/bin/python bench/bench_latency.py [--rate 5000] [--seconds 30] [--timeline]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

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
)
from centinela.contract.kafka_clients import aiokafka_config
from centinela.contract.settings import Settings

COMMAND = ".venv/bin/python bench/bench_latency.py"
TICK = 0.01


async def read_latest(
    settings: Settings,
    topic: str,
    received: dict[bytes, float],
    stop: asyncio.Event,
    values: dict[bytes, bytes] | None = None,
) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        group_id=f"latency-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="latest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        **aiokafka_config(settings),
    )
    await consumer.start()
    try:
        while not stop.is_set():
            data = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for messages in data.values():
                for message in messages:
                    received.setdefault(message.key, now)
                    if values is not None:
                        values.setdefault(message.key, message.value)
    finally:
        await consumer.stop()


async def run(
    settings: Settings, rate: int, seconds: float, label_lag: int
) -> tuple[dict, dict, dict]:
    n = int(rate * seconds)
    keys, values, labels = encoded_events(n, rate=float(rate), label_delay=label_lag / rate)
    sent: dict[bytes, float] = {}
    predicted: dict[bytes, float] = {}
    consumed: dict[bytes, float] = {}
    records: dict[bytes, bytes] = {}
    stop = asyncio.Event()
    readers = [
        asyncio.create_task(
            read_latest(settings, topics(settings).predictions, predicted, stop, records)
        ),
        asyncio.create_task(read_latest(settings, topics(settings).features, consumed, stop)),
    ]
    await asyncio.sleep(5)  # let the readers join and reach the end of their topics
    producer = AIOKafkaProducer(linger_ms=1, **aiokafka_config(settings))
    await producer.start()
    per_tick = max(1, int(rate * TICK))
    started = time.monotonic()
    for tick, start in enumerate(range(0, n, per_tick)):
        delay = started + tick * TICK - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        for key, value in zip(
            keys[start : start + per_tick], values[start : start + per_tick], strict=True
        ):
            sent[key] = time.time()
            await producer.send(topics(settings).features, value, key=key)
        if label_lag:  # the labels of the events label_lag before this tick's
            first, last = max(0, start - label_lag), max(0, start + per_tick - label_lag)
            for key, label in zip(keys[first:last], labels[first:last], strict=True):
                await producer.send(topics(settings).labels, label, key=key)
    await producer.flush()
    achieved = n / (time.monotonic() - started)
    await producer.stop()
    deadline = time.monotonic() + 60
    while len(predicted) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*readers)
    extra = {"consumed": consumed, "achieved": achieved, "records": records}
    return sent, predicted, extra  # type: ignore[return-value]


def latencies(sent: dict[bytes, float], got: dict[bytes, float], warmup: float) -> np.ndarray:
    first = min(sent.values())
    return np.asarray(
        [(got[k] - t) * 1000 for k, t in sent.items() if k in got and t - first >= warmup]
    )


def stages(
    sent: dict[bytes, float],
    predicted: dict[bytes, float],
    records: dict[bytes, bytes],
    warmup: float,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Where each prediction's latency went, in ms, from the prediction's own ``scored_at`` and
    ``latency_ms`` (the worker's batch step): before the worker had the event (broker, fetch,
    the batch before), the step itself, and after it (produce, broker, this reader); and, per
    prediction, the second of sending its event (for :func:`print_timeline`)."""
    first = min(sent.values())
    waited, step, after, at = [], [], [], []
    for key, value in records.items():
        if key not in sent or key not in predicted or sent[key] - first < warmup:
            continue
        prediction = orjson.loads(value)
        scored = datetime.fromisoformat(prediction["scored_at"]).timestamp()
        batch_ms = float(prediction["latency_ms"])
        waited.append((scored - sent[key]) * 1000 - batch_ms)
        step.append(batch_ms)
        after.append((predicted[key] - scored) * 1000)
        at.append(sent[key] - first)
    return {"before the batch": np.asarray(waited), "batch step": np.asarray(step),
            "delivery": np.asarray(after)}, np.asarray(at)  # fmt: skip


def print_timeline(parts: dict[str, np.ndarray], sent_at: np.ndarray) -> None:
    """Per second of sending: the slowest prediction's stages, so that a stall shows when it
    happened and in which stage (a steady queue shows in every second alike)."""
    second = np.floor(sent_at).astype(np.int64)
    print("second  events  " + "  ".join(f"max {name:>16}" for name in parts))
    for s in np.unique(second):
        rows = second == s
        worst = "  ".join(f"{values[rows].max():17.1f} ms" for values in parts.values())
        print(f"{s:6d}  {int(rows.sum()):6d}  {worst}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--challenger", action="store_true", help="a challenger in the shadow")
    parser.add_argument(
        "--label-lag", type=int, default=300, help="events between an event and its label; 0: none"
    )
    parser.add_argument(
        "--timeline", action="store_true", help="per second: the slowest prediction's stages"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="centinela-bench-latency-") as folder:
        home = Path(folder)
        with broker(home) as bootstrap:
            settings = bench_settings(bootstrap, home)  # the worker's defaults
            register_champion(settings)
            if args.challenger:
                register_champion(settings, alias="challenger")
            prepare(settings)
            worker = Worker(settings, home / "worker.log")
            try:
                worker.wait_ready()
                sent, predicted, extra = asyncio.run(
                    run(settings, args.rate, args.seconds, args.label_lag)
                )
            finally:
                worker.stop()
    target = 100.0 if args.rate >= 10_000 else 250.0  # the targets at these rates
    ours = latencies(sent, predicted, args.warmup)
    kafka = latencies(sent, extra["consumed"], args.warmup)  # type: ignore[arg-type]
    missing = len(sent) - len(predicted)
    p50, p99, worst = (float(np.percentile(ours, q)) for q in (50, 99, 100))
    k50, k99 = (float(np.percentile(kafka, q)) for q in (50, 99))
    print(f"rate achieved {extra['achieved']:,.0f} events/s; {missing} predictions missing")
    print(f"produce -> prediction: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms")
    print(f"produce -> consume (Kafka alone): p50 {k50:.1f} ms, p99 {k99:.1f} ms")
    parts, sent_at = stages(sent, predicted, extra["records"], args.warmup)  # type: ignore[arg-type]
    for name, values in parts.items():
        q50, q99 = (float(np.percentile(values, q)) for q in (50, 99))
        print(f"  {name}: p50 {q50:.1f} ms, p99 {q99:.1f} ms")
    if args.timeline:
        print_timeline(parts, sent_at)
    record(
        BenchResult(
            key=f"stream_latency_{args.rate}"
            + ("" if args.label_lag else "_features_only")
            + ("_shadow" if args.challenger else ""),
            what=f"produce -> prediction latency at {args.rate:,} events/s, defaults, "
            + (
                f"a label per event {args.label_lag} events later"
                if args.label_lag
                else "features only"
            )
            + (", a challenger scored in the shadow" if args.challenger else ""),
            figure=f"p99 {p99:.0f} ms (p50 {p50:.0f} ms, max {worst:.0f} ms)",
            baseline=f"Kafka alone, produce -> consume: p99 {k99:.0f} ms (p50 {k50:.0f} ms)",
            ratio=f"scoring adds {p99 - k99:.0f} ms at p99",
            target=f"p99 <= {target:g} ms",
            met=p99 <= target and missing == 0,
            command=f"{COMMAND} --rate {args.rate} --seconds {args.seconds:g} "
            f"--label-lag {args.label_lag}" + (" --challenger" if args.challenger else ""),
            notes=f"{len(ours)} events after {args.warmup:g}s warm-up; achieved rate "
            f"{extra['achieved']:,.0f}/s; {missing} missing",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
