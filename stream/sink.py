"""Delivering a batch's outputs to Kafka in the order that keeps at-least-once true.

1. predictions (the champion's, and the challenger's in the shadow), labeled examples and dead
   letters are handed to the producer as soon as the batch is processed, without awaiting
   each message (:meth:`OutputSink.publish`);
2. a settling task takes the batches in order (several at once when it lags): once their
   records and closed window partials are acknowledged, their changelog groups are written
   (a batch's partials are encoded in a thread from the moment it is published, so that
   settling rarely waits for them);
3. once those are acknowledged, the source offsets are committed.

A crash anywhere in between leaves the offsets (and the changelog's resume points) behind what
was published, so the batch is processed again: outputs may repeat, nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import TopicPartition

from centinela.contract.codec import encode
from centinela.contract.topics import Topics
from stream.batch_output import BatchOutput, ClosedWindows
from stream.changelog import ChangelogGroup, chunk_keys, encode_group
from stream.internal_topics import InternalTopics

log = logging.getLogger(__name__)


Rows = Sequence[tuple[bytes | None, bytes | None]] | Sequence[tuple[bytes | None, bytes, int]]


class BatchSender:
    """Appends rows for one (topic, partition) to aiokafka batches; returns delivery futures."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def send_rows(self, topic: str, partition: int, rows: Rows) -> list[asyncio.Future[Any]]:
        """Rows of (key, value) get the producer's clock as their timestamp; rows of (key,
        value, milliseconds) carry their own. A value of None is a tombstone."""
        return [future for future, _ in await self.send_counted(topic, partition, rows)]

    async def send_counted(
        self, topic: str, partition: int, rows: Rows
    ) -> list[tuple[asyncio.Future[Any], int]]:
        """As :meth:`send_rows`, each future with the number of records of its batch: the
        offset after the batch is its base offset (the future's result) plus that."""
        sent = []
        batch = self.producer.create_batch()
        for row in rows:
            key, value = row[0], row[1]
            timestamp = row[2] if len(row) > 2 else None  # no starred unpacking: one per event
            if batch.append(key=key, value=value, timestamp=timestamp) is None:
                count = batch.record_count()
                sent.append(
                    (await self.producer.send_batch(batch, topic, partition=partition), count)
                )
                batch = self.producer.create_batch()
                if batch.append(key=key, value=value, timestamp=timestamp) is None:
                    size = len(value or b"")
                    raise ValueError(f"a {size}-byte message does not fit a batch of {topic}")
        if count := batch.record_count():
            sent.append((await self.producer.send_batch(batch, topic, partition=partition), count))
        return sent


@dataclass
class InFlight:
    """A batch whose records were handed to the producer; ``futures`` resolve on delivery.

    Only what settling needs is kept: the records themselves now live in the producer's
    batches, and keeping the batch's output would hold a second copy of each of them."""

    futures: list[asyncio.Future[Any]]
    partials: list[asyncio.Future[bytes]]  # the closed windows' partials, being encoded
    changelog: dict[int, ChangelogGroup]
    commits: dict[tuple[str, int], int]
    records: int  # events and labels processed: its weight in the queue to settling


def encoding(closes: Sequence[ClosedWindows]) -> list[asyncio.Future[bytes]]:
    """Start encoding each partial in a thread (numpy work, off the event loop)."""
    loop = asyncio.get_running_loop()
    return [loop.run_in_executor(None, close.encode) for close in closes]


def changelog_rows(group: ChangelogGroup) -> list[tuple[bytes | None, bytes | None]]:
    """The group's chunks under their keys, then a tombstone for each chunk it retires (after
    them: a crash in between leaves a dead group in the log, never a live one out of it)."""
    chunks = encode_group(group)
    keys = chunk_keys(group.group_id, len(chunks))
    rows: list[tuple[bytes | None, bytes | None]] = list(zip(keys, chunks, strict=True))
    return rows + [(key, None) for key in group.retired]


class OutputSink:
    """Publishes each batch at once; settles batches in order: acknowledged, logged, committed."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        consumer: AIOKafkaConsumer,
        topics: Topics,
        internal: InternalTopics,
        model_name: str,
        partials_producer: AIOKafkaProducer | None = None,
    ) -> None:
        self.producer = producer
        # The closed windows' partials: big records, on a connection of their own if given.
        self.partials_producer = partials_producer or producer
        self.consumer = consumer
        self.topics = topics
        self.internal = internal
        self.model_key = model_name.encode()
        self.sender = BatchSender(producer)
        # Partition -> the offset after the last changelog record this worker wrote to it
        # (set from its restore's end first): where a snapshot of its state stands.
        self.changelog_ends: dict[int, int] = {}

    async def publish(self, out: BatchOutput) -> InFlight:
        """Hand the batch's records to the producer now (no waiting for acknowledgements)."""
        futures = []
        for partition, rows in out.predictions.items():
            futures += await self.sender.send_rows(self.topics.predictions, partition, rows)
        for partition, rows in out.shadow_predictions.items():
            futures += await self.sender.send_rows(self.topics.shadow_predictions, partition, rows)
        for partition, stamped in out.labeled.items():
            futures += await self.sender.send_rows(self.topics.labeled, partition, stamped)
        for record in out.dead_letters:
            futures.append(
                await self.producer.send(
                    self.topics.dead_letter, encode(record), key=record.source_topic.encode()
                )
            )
        return InFlight(
            futures,
            encoding(out.closes),
            out.changelog,
            out.commits,
            records=out.stats.events + out.stats.labels,
        )

    async def settle(self, batches: list[InFlight]) -> None:
        """For consecutive batches at once: await their records, send the closed windows,
        then their changelog groups (in order), then commit the last offsets."""
        futures = [future for batch in batches for future in batch.futures]
        for batch in batches:
            for partial in batch.partials:
                value = await partial
                futures.append(
                    await self.partials_producer.send(
                        self.internal.partials, value, key=self.model_key, partition=0
                    )
                )
        await asyncio.gather(*futures)
        # Groups are encoded only now, one at a time: the producer copies each chunk into its
        # batch at once, so the encoded changelog never waits in memory beside its events.
        commits: dict[tuple[str, int], int] = {}
        logged = []
        lasts: dict[int, tuple[asyncio.Future[Any], int]] = {}  # partition -> its last batch
        for batch in batches:
            for partition, group in batch.changelog.items():
                sent = await self.sender.send_counted(
                    self.internal.changelog, partition, changelog_rows(group)
                )
                logged += [future for future, _ in sent]
                if sent:
                    lasts[partition] = sent[-1]
            commits.update(batch.commits)
        await asyncio.gather(*logged)
        for partition, (future, count) in lasts.items():
            self.changelog_ends[partition] = future.result().offset + count
        await self._commit(commits)

    async def _commit(self, commits: dict[tuple[str, int], int]) -> None:
        if not commits:
            return
        owned = self.consumer.assignment()
        offsets = {
            tp: offset
            for (topic, p), offset in commits.items()
            if (tp := TopicPartition(topic, p)) in owned
        }
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as error:
            # Harmless: the changelog holds the resume offsets; the next owner seeks to them.
            log.warning("offset commit failed (a rebalance?): %s", error)
