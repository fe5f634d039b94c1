"""Read whole topics back, to count what the workers produced."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition

from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.settings import Settings


class TopicReader:
    """Keeps reading a set of topics from the beginning; `poll()` returns what is new."""

    def __init__(self, settings: Settings, *topics: str) -> None:
        self.consumer = KafkaConsumer(**kafka_python_config(settings), enable_auto_commit=False)
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(self.consumer.partitions_for_topic(topic) or {0})
        ]
        self.consumer.assign(partitions)
        self.consumer.seek_to_beginning()

    def poll(self) -> dict[str, list[bytes]]:
        values: dict[str, list[bytes]] = {}
        while True:
            batches = self.consumer.poll(timeout_ms=500, max_records=20_000)
            if not batches:
                return values
            for partition, messages in batches.items():
                values.setdefault(partition.topic, []).extend(m.value for m in messages)

    def close(self) -> None:
        self.consumer.close()
