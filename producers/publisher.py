"""The Kafka side of a producer: confluent-kafka (librdkafka), tuned for throughput.

Chosen over kafka-python because one ``produce()`` is a C call of about a microsecond, where
kafka-python spends tens of microseconds of Python per ``send()`` (see docs/benchmarks.md).
Messages are keyed by event id and partitioned with ``murmur2_random``, the Java client's
hash that kafka-python and aiokafka also use, so a label lands in the partition of its event
whichever client wrote either. Idempotence is on, so retries never duplicate or reorder.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from centinela.contract.kafka_access import unreachable
from centinela.contract.kafka_clients import confluent_kafka_config
from centinela.contract.settings import Settings
from producers.exceptions import PublishError

log = logging.getLogger(__name__)


class Publisher:
    """Sends pre-encoded keyed messages in bulk; counts what Kafka failed to take."""

    def __init__(
        self, settings: Settings, *, linger_ms: int = 5, client_id: str = "centinela-producer"
    ) -> None:
        self.settings = settings
        self.failed = 0
        self.first_error: str | None = None
        self._broker_error: str | None = None
        config: dict[str, Any] = {
            **confluent_kafka_config(settings),
            "client.id": client_id,
            "linger.ms": linger_ms,
            "batch.size": 1_000_000,
            "batch.num.messages": 10_000,
            # No compression: aiokafka (Faust) and kafka-python need extra codec packages
            # (cramjam / lz4) to read lz4 or zstd, which Centinela does not install.
            "compression.type": "none",
            "partitioner": "murmur2_random",
            "enable.idempotence": True,
            "acks": "all",
            "message.max.bytes": settings.max_message_bytes,
            "queue.buffering.max.messages": 1_000_000,
            "message.timeout.ms": 120_000,
            "delivery.report.only.error": True,
            "on_delivery": self._on_delivery,
            "error_cb": self._on_error,
            "logger": logging.getLogger("producers.librdkafka"),
        }
        try:
            self._producer = Producer(config)
        except KafkaException as error:
            raise PublishError(f"cannot configure the Kafka producer: {error}") from None

    def check_connection(self, timeout: float = 10.0) -> None:
        """Fail fast, and clearly, when no broker answers."""
        try:
            self._producer.list_topics(timeout=timeout)
        except KafkaException as error:
            raise unreachable(self.settings, error) from None

    def send(self, topic: str, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        produce = self._producer.produce
        for key, value in zip(keys, values, strict=True):
            try:
                produce(topic, value, key)
            except BufferError:  # the local queue is full: let librdkafka drain it, then retry
                self._wait_for_room()
                produce(topic, value, key)
        self._producer.poll(0)

    def flush(self, timeout: float = 60.0) -> int:
        """Wait until every accepted message is delivered or failed; returns those still queued."""
        remaining = int(self._producer.flush(timeout))
        if remaining:
            log.warning("%d messages were still queued after %.0f s", remaining, timeout)
        return remaining

    def raise_on_failures(self) -> None:
        if self.failed:
            raise PublishError(
                f"Kafka did not take {self.failed} messages (first error: {self.first_error}); "
                f"broker at {self.settings.kafka_bootstrap_servers}"
            )

    def _wait_for_room(self) -> None:
        while True:
            self._producer.poll(0.05)
            if len(self._producer) < 900_000:
                return
            if self._broker_error:
                log.warning("waiting for the broker: %s", self._broker_error)

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.failed += 1
            if self.first_error is None:
                self.first_error = str(error)

    def _on_error(self, error: KafkaError) -> None:
        self._broker_error = str(error)
        log.debug("librdkafka: %s", error)
