"""Reading partitions to their end offsets, with both client libraries, on a real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition as AioPartition
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from centinela.contract.kafka_clients import aiokafka_config, kafka_python_config
from centinela.contract.settings import Settings
from centinela.contract.topic_reader import read_to_end, read_to_end_blocking
from centinela.contract.topics import Topics, create_topics

pytestmark = pytest.mark.integration

PER_PARTITION = {0: 30, 1: 0, 2: 7}  # partition 1 stays empty


def _fill(settings: Settings) -> str:
    create_topics(settings)
    topic = Topics.from_settings(settings).features
    producer = KafkaProducer(acks="all", **kafka_python_config(settings))
    for partition, count in PER_PARTITION.items():
        for index in range(count):
            producer.send(topic, value=b"%d-%d" % (partition, index), partition=partition)
    producer.flush()
    producer.close()
    return topic


def _collector() -> tuple[dict[int, list[bytes]], Callable[[Any, list[Any]], None]]:
    seen: dict[int, list[bytes]] = {}

    def keep(tp: Any, records: list[Any]) -> None:
        seen.setdefault(tp.partition, []).extend(r.value for r in records)

    return seen, keep


def test_the_blocking_reader_reads_every_partition_from_its_start_or_tail(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(topic_partitions=3)
    topic = _fill(settings)
    parts = [TopicPartition(topic, p) for p in PER_PARTITION]
    consumer = KafkaConsumer(enable_auto_commit=False, **kafka_python_config(settings))
    try:
        seen, keep = _collector()
        ends = read_to_end_blocking(consumer, parts, keep)
        assert {tp.partition: end for tp, end in ends.items()} == PER_PARTITION
        assert {p: len(v) for p, v in seen.items()} == {0: 30, 2: 7}
        assert seen[0][0] == b"0-0" and seen[0][-1] == b"0-29"

        tail, keep_tail = _collector()
        read_to_end_blocking(consumer, parts, keep_tail, tail=5)
        assert tail == {
            0: [b"0-%d" % i for i in range(25, 30)],
            2: [b"2-%d" % i for i in range(2, 7)],
        }

        later, keep_later = _collector()
        read_to_end_blocking(consumer, parts, keep_later, starts={parts[0]: 28})
        assert later[0] == [b"0-28", b"0-29"] and len(later[2]) == 7  # no start: from the log start
    finally:
        consumer.close()


def test_the_asyncio_reader_reads_the_same(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(topic_partitions=3)
    topic = _fill(settings)

    async def read() -> dict[int, list[bytes]]:
        consumer = AIOKafkaConsumer(
            enable_auto_commit=False, auto_offset_reset="earliest", **aiokafka_config(settings)
        )
        await consumer.start()
        try:
            seen, keep = _collector()
            await read_to_end(consumer, [AioPartition(topic, p) for p in PER_PARTITION], keep)
            return seen
        finally:
            await consumer.stop()

    seen = asyncio.run(read())
    assert seen == {0: [b"0-%d" % i for i in range(30)], 2: [b"2-%d" % i for i in range(7)]}
