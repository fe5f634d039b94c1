"""Helpers for the producer tests: an in-memory sink for pure runner tests, and a reader of
real topics for the integration tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.settings import Settings
from centinela.contract.topic_reader import read_to_end_blocking


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
    """Every message of ``topic`` (from the start), read to its end offsets again and again
    until ``expected`` have arrived or ``timeout`` passes."""
    consumer = KafkaConsumer(enable_auto_commit=False, **kafka_python_config(settings))
    received: list[Received] = []

    def keep(part: TopicPartition, records: list[Any]) -> None:
        received.extend(
            Received(r.key, orjson.loads(r.value), part.partition, r.offset) for r in records
        )

    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        deadline = time.monotonic() + timeout
        read_up_to: dict[TopicPartition, int] = {}
        while True:
            read_up_to = read_to_end_blocking(consumer, partitions, keep, starts=read_up_to)
            if len(received) >= expected or time.monotonic() > deadline:
                return received
            time.sleep(0.2)
    finally:
        consumer.close()
