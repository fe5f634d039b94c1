"""The contract on a real broker: topics, and every record through Kafka and back."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from centinela.contract.codec import decode, encode
from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.records import FeatureEvent
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics, create_topics, open_admin
from centinela.exceptions import BrokerUnavailableError, DecodeError
from tests.stream.record_samples import sample_records

pytestmark = pytest.mark.integration


def test_create_topics_is_idempotent(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(topic_partitions=3)
    names = Topics.from_settings(settings).names()

    first = create_topics(settings)
    second = create_topics(settings)

    assert sorted(first.created) == sorted(names) and first.existing == []
    assert second.created == [] and sorted(second.existing) == sorted(names)
    assert _partition_counts(settings, names) == {3}


def _partition_counts(settings: Settings, names: list[str]) -> set[int]:
    """Partition counts of the topics, once the broker's metadata has caught up (it can lag)."""
    admin = open_admin(settings)
    try:
        for _ in range(50):
            counts = {len(topic["partitions"]) for topic in admin.describe_topics(names)}
            if 0 not in counts:
                return counts
            time.sleep(0.2)
        return counts
    finally:
        admin.close()


def test_every_record_type_round_trips_through_the_broker(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(topic_partitions=1)
    topic = Topics.from_settings(settings).dead_letter
    create_topics(settings)
    records = sample_records()

    producer = KafkaProducer(**kafka_python_config(settings))
    for record in records:
        producer.send(topic, key=type(record).__name__.encode(), value=encode(record))
    producer.flush()
    producer.close()

    received = _consume(settings, topic, len(records))
    decoded = [
        decode(type(record), raw) for record, (_, raw) in zip(records, received, strict=True)
    ]
    assert decoded == records
    assert [key.decode() for key, _ in received] == [type(r).__name__ for r in records]


def test_a_malformed_message_yields_the_decode_error(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(topic_partitions=1)
    topic = Topics.from_settings(settings).features
    create_topics(settings)
    producer = KafkaProducer(**kafka_python_config(settings))
    producer.send(topic, value=b'{"event_id": "e-1", "features": ')
    producer.send(topic, value=encode(sample_records()[0]))
    producer.flush()
    producer.close()

    (_, malformed), (_, good) = _consume(settings, topic, 2)

    with pytest.raises(DecodeError) as caught:
        decode(FeatureEvent, malformed)
    assert caught.value.reason == "malformed_json"
    assert decode(FeatureEvent, good) == sample_records()[0]


def test_an_unreachable_broker_is_a_clear_error(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(kafka_bootstrap_servers="127.0.0.1:1")
    with pytest.raises(BrokerUnavailableError, match="centinela up"):
        create_topics(settings)


def _consume(settings: Settings, topic: str, count: int) -> list[tuple[bytes, bytes]]:
    consumer = KafkaConsumer(
        **kafka_python_config(settings), enable_auto_commit=False, consumer_timeout_ms=15_000
    )
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    received = []
    for message in consumer:
        received.append((message.key, message.value))
        if len(received) == count:
            break
    consumer.close()
    assert len(received) == count, f"expected {count} messages on {topic}, got {len(received)}"
    return received
