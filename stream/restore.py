"""Rebuilding one partition's state from its changelog, outside the rebalance callback.

On assignment the scoring consumer only pauses the partition and starts a restore task; the
task reads the partition's changelog in fetches of at most :data:`FETCH_BYTES`, applies each
group as soon as its last chunk arrives (the log is never held whole), and hands the rebuilt
state back. Heartbeats and the other partitions go on meanwhile. A restore that fails is
retried with a growing pause; until it succeeds the partition is not processed and ``/ready``
answers 503 with the reason (docs/architecture.md, "State and recovery").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from centinela.contract.kafka_clients import aiokafka_config
from centinela.contract.settings import Settings
from centinela.contract.topic_reader import read_to_end
from stream.changelog import ChangelogGroup, GroupReader

log = logging.getLogger(__name__)

FETCH_BYTES = 2 * 1024 * 1024  # one fetch's groups are applied between two awaits
PROGRESS_SECONDS = 5.0
RETRY_SECONDS = (1.0, 60.0)  # first and longest pause between attempts


@dataclass
class RestoreProgress:
    """How far the restore of one partition has come; shown in ``/status``."""

    partition: int
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0
    groups: int = 0
    events: int = 0
    offset: int | None = None
    end: int | None = None
    failure: str | None = None
    _logged_at: float = field(default_factory=time.monotonic)

    def begin_attempt(self) -> None:
        self.attempts += 1
        self.groups = self.events = 0
        self.offset = self.end = None

    def count(self, group: ChangelogGroup) -> None:
        self.groups += 1
        self.events += len(group.events)

    def report(self) -> None:
        """A progress line every few seconds: a long restore is never silent."""
        now = time.monotonic()
        if now - self._logged_at < PROGRESS_SECONDS:
            return
        self._logged_at = now
        log.info(
            "partition %d: restoring its state, offset %s of %s (%d groups, %d events, %.0fs)",
            self.partition,
            self.offset,
            self.end,
            self.groups,
            self.events,
            now - self.started,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "changelog_offset": self.offset,
            "changelog_end": self.end,
            "groups": self.groups,
            "events": self.events,
            "seconds": round(time.monotonic() - self.started, 1),
            "failure": self.failure,
        }


def retry_pause(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, 4, ... up to 60)."""
    first, longest = RETRY_SECONDS
    return float(min(first * 2 ** (attempt - 1), longest))


async def replay_changelog(
    settings: Settings,
    topic: str,
    partition: int,
    apply: Callable[[ChangelogGroup], None],
    progress: RestoreProgress,
) -> None:
    """Read ``topic``'s ``partition`` from its start to its current end, applying each complete
    group in log order."""
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        # "earliest" rather than seek_to_beginning(): an assignment's own offset reset may land
        # after a seek and move the reader to the end (seen on aiokafka 0.14).
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=FETCH_BYTES,
        **aiokafka_config(settings),
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        progress.end = (await consumer.end_offsets([tp]))[tp]
        reader = GroupReader()

        def keep(_: TopicPartition, records: list[Any]) -> None:
            for record in records:
                group = reader.feed(record.value)
                if group is not None:
                    apply(group)
                    progress.count(group)
            if records:
                progress.offset = records[-1].offset + 1
            progress.report()

        await read_to_end(consumer, [tp], keep)
    finally:
        await consumer.stop()
