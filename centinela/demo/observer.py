"""Reads Centinela's output topics in a background thread and keeps what the demo shows."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from kafka import KafkaConsumer, TopicPartition

from centinela.contract.codec import decode
from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.records import Alert, DriftReport, ModelEvent, Record, RetrainRequest
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.exceptions import DecodeError

log = logging.getLogger(__name__)

RATE_HORIZON_S = 5.0


@dataclass
class DemoState:
    """Everything the live view and the summary need, updated by the observer thread."""

    started: float = field(default_factory=time.monotonic)
    scored_ids: set[str] = field(default_factory=set)
    predictions_seen: int = 0
    versions_seen: dict[str, int] = field(default_factory=dict)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))
    arrivals: deque[tuple[float, int]] = field(default_factory=deque)
    reports: list[DriftReport] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    retrain_requests: list[RetrainRequest] = field(default_factory=list)
    model_events: list[ModelEvent] = field(default_factory=list)
    dead_letters: int = 0
    sent: int = 0
    first_prediction_at: float | None = None
    last_prediction_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def scored(self) -> int:
        return len(self.scored_ids)

    @property
    def duplicates(self) -> int:
        return self.predictions_seen - len(self.scored_ids)

    def average_rate(self) -> float:
        """Distinct events scored per second between the first and the last prediction."""
        if self.first_prediction_at is None or self.last_prediction_at is None:
            return 0.0
        return self.scored / max(1e-3, self.last_prediction_at - self.first_prediction_at)

    def rate(self) -> float:
        """Predictions per second over the last few seconds."""
        now = time.monotonic()
        while self.arrivals and now - self.arrivals[0][0] > RATE_HORIZON_S:
            self.arrivals.popleft()
        return sum(count for _, count in self.arrivals) / RATE_HORIZON_S

    def latency_percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        return float(np.percentile(np.fromiter(self.latencies_ms, float), q))


class TopicObserver(threading.Thread):
    """Counts features and dead letters; reads predictions, drift, alerts, retrain requests and
    model events.

    It starts at the end of each topic, so only what this run produces is shown.
    """

    def __init__(self, settings: Settings, state: DemoState) -> None:
        super().__init__(name="demo-observer", daemon=True)
        self.settings = settings
        self.state = state
        self.topics = Topics.from_settings(settings)
        self._stop = threading.Event()
        self._positioned = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def wait_positioned(self, timeout: float = 30.0) -> bool:
        return self._positioned.wait(timeout)

    def run(self) -> None:
        consumer = KafkaConsumer(**kafka_python_config(self.settings), enable_auto_commit=False)
        names = [
            self.topics.features,
            self.topics.predictions,
            self.topics.drift,
            self.topics.alerts,
            self.topics.retrain_requests,
            self.topics.model_events,
            self.topics.dead_letter,
        ]
        partitions = [
            TopicPartition(name, p)
            for name in names
            for p in sorted(consumer.partitions_for_topic(name) or {0})
        ]
        consumer.assign(partitions)
        consumer.seek_to_end()
        for partition in partitions:  # resolve the end offsets now, before anything is produced
            consumer.position(partition)
        self._positioned.set()
        try:
            while not self._stop.is_set():
                batches = consumer.poll(timeout_ms=200, max_records=5000)
                for partition, messages in batches.items():
                    self._take(partition.topic, [m.value for m in messages])
        finally:
            consumer.close()

    def _take(self, topic: str, values: list[bytes]) -> None:
        if topic == self.topics.predictions:
            self._take_predictions(values)
            return
        if topic == self.topics.features:
            with self.state.lock:
                self.state.sent += len(values)
            return
        if topic == self.topics.dead_letter:
            with self.state.lock:
                self.state.dead_letters += len(values)
            return
        for value in values:
            try:
                self._take_record(topic, value)
            except DecodeError as error:
                log.warning("skipping an undecodable message on %s: %s", topic, error)

    def _take_predictions(self, values: list[bytes]) -> None:
        # Only a few fields are shown: plain JSON parsing keeps the observer light at 20k/s.
        parsed = [orjson.loads(value) for value in values]
        with self.state.lock:
            state = self.state
            now = time.monotonic()
            state.predictions_seen += len(parsed)
            state.arrivals.append((now, len(parsed)))
            state.first_prediction_at = state.first_prediction_at or now
            state.last_prediction_at = now
            for prediction in parsed:
                state.scored_ids.add(prediction["event_id"])
                state.latencies_ms.append(prediction["latency_ms"])
                version = str(prediction["model_version"])
                state.versions_seen[version] = state.versions_seen.get(version, 0) + 1

    def _take_record(self, topic: str, value: bytes) -> None:
        destinations: dict[str, tuple[type[Record], list[Any]]] = {
            self.topics.drift: (DriftReport, self.state.reports),
            self.topics.alerts: (Alert, self.state.alerts),
            self.topics.retrain_requests: (RetrainRequest, self.state.retrain_requests),
            self.topics.model_events: (ModelEvent, self.state.model_events),
        }
        record_type, kept = destinations[topic]
        record = decode(record_type, value)
        with self.state.lock:
            kept.append(record)
