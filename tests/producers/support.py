"""Helpers for the producer tests: an in-memory sink for pure runner tests, and a reader of
real topics for the integration tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import orjson
from kafka import KafkaConsumer, TopicPartition

from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.settings import Settings


@dataclass
class MemorySink:
    """Collects what a run sends, per topic, in send order (a unit-test stand-in for Kafka)."""

    failed: int = 0
    messages: dict[str, list[tuple[bytes, dict]]] = field(default_factory=dict)
    sequence: list[tuple[str, bytes]] = field(default_factory=list)  # across topics
    flushed: int = 0

    def send(self, topic: str, keys: list[bytes], values: list[bytes]) -> None:
        self.sequence.extend((topic, key) for key in keys)
        bucket = self.messages.setdefault(topic, [])
        bucket.extend((key, orjson.loads(value)) for key, value in zip(keys, values, strict=True))

    def flush(self, timeout: float = 60.0) -> int:
        self.flushed += 1
        return 0


@dataclass(frozen=True)
class Received:
    key: bytes
    value: dict
    partition: int
    offset: int


def read_topic(
    settings: Settings, topic: str, expected: int, timeout: float = 60.0
) -> list[Received]:
    """Every message of ``topic`` (from the start), once ``expected`` have arrived or the
    topic's end offsets are reached."""
    consumer = KafkaConsumer(
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafka_python_config(settings),
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        received: list[Received] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for part, records in consumer.poll(timeout_ms=500, max_records=50_000).items():
                received += [
                    Received(r.key, orjson.loads(r.value), part.partition, r.offset)
                    for r in records
                ]
            done = all(consumer.position(p) >= ends[p] for p in partitions)
            if len(received) >= expected and done:
                break
            if done:
                ends = consumer.end_offsets(partitions)
        return received
    finally:
        consumer.close()
