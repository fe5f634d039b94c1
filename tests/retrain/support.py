"""Seeded data, a champion, and Kafka helpers for the retrain tests."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
import pandas as pd
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from centinela.contract.codec import decode, encode
from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.records import (
    LabeledExample,
    ModelEvent,
    Record,
    RetrainRequest,
)
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.models.publishing import train_and_register
from centinela.models.registry import CHAMPION, load_model
from retrain.worker import RetrainWorker

R = TypeVar("R", bound=Record)
COLOURS = ("red", "green", "blue")


def labeled_frame(
    n: int, *, seed: int, n_numeric: int = 4, shift: float = 0.0, categorical: bool = True
) -> tuple[pd.DataFrame, np.ndarray]:
    """Features and binary labels from a fixed linear concept; ``shift`` moves the inputs."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        rng.normal(shift, 1.0, size=(n, n_numeric)), columns=[f"x{i}" for i in range(n_numeric)]
    )
    score = frame["x0"] + 0.5 * frame["x1"] + rng.normal(0, 0.5, n)
    if categorical:
        frame["colour"] = rng.choice(COLOURS, size=n)
        score += np.where(frame["colour"] == "red", 0.8, 0.0)
    labels = (score > shift * 1.5).astype(int).to_numpy()
    return frame, labels


def examples(
    frame: pd.DataFrame, labels: np.ndarray, *, model: str, start: datetime, prefix: str = "e"
) -> list[LabeledExample]:
    """One LabeledExample per row, event times one second apart from ``start``."""
    records = frame.to_dict(orient="records")
    return [
        LabeledExample(
            event_id=f"{prefix}-{index}",
            event_time=start + timedelta(seconds=index),
            features=row,
            model_name=model,
            model_version="1",
            predicted_class=int(label),
            label=int(label),
            label_time=start + timedelta(seconds=index + 5),
        )
        for index, (row, label) in enumerate(zip(records, labels, strict=True))
    ]


def produce(
    settings: Settings,
    topic: str,
    records: Iterable[tuple[str, bytes, int | None]],
) -> int:
    """Send (key, value, timestamp_ms) triples and wait for every acknowledgement."""
    producer = KafkaProducer(
        acks="all", linger_ms=20, batch_size=256 * 1024, **kafka_python_config(settings)
    )
    sent = 0
    try:
        for key, value, timestamp_ms in records:
            producer.send(topic, key=key.encode(), value=value, timestamp_ms=timestamp_ms)
            sent += 1
        producer.flush(timeout=60)
    finally:
        producer.close()
    return sent


def write_labeled(
    settings: Settings, rows: list[LabeledExample], *, timestamp: datetime | None = None
) -> int:
    """Write LabeledExamples to ``labeled``; the Kafka timestamp is ``timestamp`` or the event
    time (what the stream stamps)."""
    topic = Topics.from_settings(settings).labeled
    return produce(
        settings,
        topic,
        ((row.event_id, encode(row), _millis(timestamp or row.event_time)) for row in rows),
    )


def send_request(settings: Settings, request: RetrainRequest) -> None:
    topic = Topics.from_settings(settings).retrain_requests
    produce(settings, topic, [(request.model_name, encode(request), None)])


def request_for(
    settings: Settings, start: datetime, until: datetime, *, request_id: str | None = None
) -> RetrainRequest:
    return RetrainRequest(
        request_id=request_id or f"req-{uuid.uuid4().hex[:8]}",
        model_name=settings.model_name,
        champion_version="1",
        reason="data_drift",
        evidence={"drifted_features": ["x0", "x1"], "window_id": 7},
        train_from=start,
        train_until=until,
    )


def register_champion(
    settings: Settings,
    *,
    seed: int = 1,
    n: int = 2000,
    trainer: str = "logistic_regression",
    params: dict[str, object] | None = None,
    categorical: bool = True,
) -> str:
    """Train and register a champion on pre-drift data, as bootstrap would."""
    frame, labels = labeled_frame(n, seed=seed, categorical=categorical)
    return train_and_register(
        settings,
        trainer,
        params or {},
        frame,
        labels,
        tags={"centinela.role": "bootstrap"},
        run_name="bootstrap",
        experiment="centinela-bootstrap",
        alias=CHAMPION,
        sample_size=500,
    ).version


def wait_for_events(
    settings: Settings,
    accept: Callable[[ModelEvent], bool],
    *,
    count: int = 1,
    timeout: float = 120.0,
) -> list[ModelEvent]:
    """ModelEvents (from the beginning of the topic) that ``accept``, once ``count`` are there."""
    topic = Topics.from_settings(settings).model_events
    return read_records(settings, topic, ModelEvent, accept, count=count, timeout=timeout)


def read_records(
    settings: Settings,
    topic: str,
    record_type: type[R],
    accept: Callable[[R], bool],
    *,
    count: int = 1,
    timeout: float = 120.0,
) -> list[R]:
    """Records of ``topic`` (from its beginning) that ``accept``, once ``count`` are there."""
    consumer = KafkaConsumer(
        group_id=None, enable_auto_commit=False, **kafka_python_config(settings)
    )
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        found: list[R] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(found) < count:
            for records in consumer.poll(timeout_ms=500).values():
                decoded = (decode(record_type, r.value) for r in records)
                found.extend(item for item in decoded if accept(item))
        return found
    finally:
        consumer.close()


def settings_env(settings: Settings) -> dict[str, str]:
    """The process environment that reproduces ``settings`` in a ``centinela`` subprocess."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CENTINELA_")}
    return {**env, **settings.as_environment()}


def recent(minutes: float) -> datetime:
    """A moment ``minutes`` ago, to the millisecond (Kafka timestamps are milliseconds)."""
    moment = datetime.now(UTC) - timedelta(minutes=minutes)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def live_examples(
    settings: Settings, n: int, *, start: datetime, seed: int, shift: float, prefix: str
) -> list[LabeledExample]:
    """Labeled events as the stream writes them: the champion's prediction and the label."""
    frame, labels = labeled_frame(n, seed=seed, shift=shift)
    predicted = load_model(settings, version="1").predict(frame)[0]
    return [
        LabeledExample(
            event_id=f"{prefix}-{i}",
            event_time=start + timedelta(seconds=i),
            features=row,
            model_name=settings.model_name,
            model_version="1",
            predicted_class=int(p),
            label=int(label),
            label_time=start + timedelta(seconds=i + 5),
        )
        for i, (row, p, label) in enumerate(
            zip(frame.to_dict(orient="records"), predicted, labels, strict=True)
        )
    ]


@contextmanager
def running_worker(settings: Settings, *, attempts: int = 2) -> Iterator[RetrainWorker]:
    """A retrain worker serving in a thread of the test, stopped (and checked) after."""
    worker = RetrainWorker(settings, attempts=attempts, backoff_s=0.5)
    thread = threading.Thread(target=worker.serve, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the worker did not stop"
