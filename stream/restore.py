"""Rebuilding one partition's state from its changelog, outside the rebalance callback.

On assignment the scoring consumer only pauses the partition and starts a restore task; the
task loads the partition's local snapshot if there is a usable one (:mod:`stream.snapshot`),
reads the partition's changelog from the snapshot's offset (else from its start) in fetches of
at most :data:`FETCH_BYTES`, applies each group as soon as its last chunk arrives (the log is
never held whole), and hands the rebuilt state back. Heartbeats and the other partitions go on
meanwhile. A restore that fails is retried with a growing pause; until it succeeds the
partition is not processed and ``/ready`` answers 503 with the reason (docs/architecture.md,
"State and recovery").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from centinela.contract.kafka_clients import aiokafka_config
from centinela.contract.settings import Settings
from centinela.contract.topic_reader import read_to_end
from centinela.models.profile import ReferenceProfile
from stream.changelog import ChangelogGroup, GroupReader
from stream.snapshot import SnapshotPlace, UnusableSnapshotError, load_snapshot, take_snapshot
from stream.state import PartitionState, restore

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
    start: int | None = None  # where the replay began: 0, or a snapshot's offset
    snapshot: dict[str, Any] | None = None  # the one used, or why none was
    failure: str | None = None
    _logged_at: float = field(default_factory=time.monotonic)

    def begin_attempt(self) -> None:
        self.attempts += 1
        self.groups = self.events = 0
        self.offset = self.end = self.start = None

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
            "partition %d: restoring its state%s, offset %s of %s (%d groups, %d events, %.0fs)",
            self.partition,
            self.source(),
            self.offset,
            self.end,
            self.groups,
            self.events,
            now - self.started,
        )

    def done(self, reading_from: dict[str, int]) -> None:
        log.info(
            "partition %d: state restored%s in %.1fs (%d changelog groups, %d events, %d "
            "attempt(s)), reading from %s",
            self.partition,
            self.source(),
            time.monotonic() - self.started,
            self.groups,
            self.events,
            self.attempts,
            reading_from,
        )

    def source(self) -> str:
        """Whence the state comes, for the log."""
        if self.snapshot is not None and self.snapshot.get("used"):
            return f" from a snapshot and the changelog's tail from offset {self.start}"
        return " from the whole changelog"

    def describe(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "snapshot": self.snapshot,
            "changelog_start": self.start,
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


async def keep_trying(
    progress: RestoreProgress, attempt: Callable[[RestoreProgress], Awaitable[None]]
) -> None:
    """Run ``attempt`` until it succeeds; while it fails, ``progress`` (so /ready) says why."""
    while True:
        progress.begin_attempt()
        try:
            await attempt(progress)
            return
        except Exception as error:  # a broker or registry outage, a bug: retry, loudly
            pause = retry_pause(progress.attempts)
            progress.failure = f"{type(error).__name__}: {error}"
            log.exception(
                "partition %d: restoring its state failed (attempt %d); retrying in %.0fs",
                progress.partition,
                progress.attempts,
                pause,
            )
            await asyncio.sleep(pause)


@dataclass(frozen=True)
class PartitionRestorer:
    """Rebuilds one partition's state: its snapshot and the changelog after it, else the
    whole changelog."""

    settings: Settings
    changelog: str
    fresh_state: Callable[[int], PartitionState]
    profile_of: Callable[[str], ReferenceProfile]

    async def rebuild(self, progress: RestoreProgress) -> PartitionState:
        """The partition's state, rebuilt; nothing is left behind when this raises."""
        partition = progress.partition
        tp = TopicPartition(self.changelog, partition)
        consumer = changelog_consumer(self.settings)
        await consumer.start()
        state = None
        try:
            progress.end = (await consumer.end_offsets([tp]))[tp]
            state, progress.start = self.start_state(partition, progress)
            loaded = state

            def apply(group: ChangelogGroup) -> None:
                restore(loaded, group, self.profile_of)

            await replay_changelog(consumer, tp, apply, progress, start=progress.start)
            return state
        except BaseException:
            if state is not None:
                state.join.close()  # never adopted: its disk tier goes
            raise
        finally:
            await consumer.stop()

    def start_state(self, partition: int, progress: RestoreProgress) -> tuple[PartitionState, int]:
        """A state to replay onto and the changelog offset to replay from: the partition's
        snapshot, when there is a usable one, and its offset; else an empty state and 0."""
        place = SnapshotPlace(self.settings, self.changelog)
        state = self.fresh_state(partition)
        taken = take_snapshot(place, partition) if self.settings.state_snapshots else None
        if taken is None:
            progress.snapshot = {"used": False, "reason": "none"}
            return state, 0
        assert progress.end is not None
        try:
            used = load_snapshot(taken, state, place, progress.end, self.profile_of)
        except UnusableSnapshotError as error:
            log.warning(
                "partition %d: not using its state snapshot (%s): deleted; replaying the whole "
                "changelog",
                partition,
                error,
            )
            state.join.close()
            progress.snapshot = {"used": False, "reason": str(error)}
            return self.fresh_state(partition), 0
        progress.snapshot = {"used": True, **used}
        log.info(
            "partition %d: state snapshot of %s loaded; replaying the changelog from offset %d "
            "to %d",
            partition,
            used["written_at"],
            used["offset"],
            progress.end,
        )
        return state, int(used["offset"])


def changelog_consumer(settings: Settings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        enable_auto_commit=False,
        # "earliest", and a seek only once the position is known (read_to_end), rather than
        # seek_to_beginning(): an assignment's own offset reset may land after a seek and move
        # the reader to the end (seen on aiokafka 0.14).
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=FETCH_BYTES,
        **aiokafka_config(settings),
    )


async def replay_changelog(
    consumer: AIOKafkaConsumer,
    tp: TopicPartition,
    apply: Callable[[ChangelogGroup], None],
    progress: RestoreProgress,
    *,
    start: int = 0,
) -> None:
    """Read ``tp`` with the started ``consumer`` from ``start`` (never before the log's start)
    to its end offset at ``progress.end``, applying each complete group in log order. A group
    that began before ``start`` is skipped whole."""
    reader = GroupReader()
    assert progress.end is not None
    progress.offset = start

    def keep(_: TopicPartition, records: list[Any]) -> None:
        for record in records:
            group = reader.feed(record.value)
            if group is not None:
                apply(group)
                progress.count(group)
        if records:
            progress.offset = records[-1].offset + 1
        progress.report()

    await read_to_end(consumer, [tp], keep, starts={tp: start})


async def start_offsets(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], start_from: str
) -> dict[TopicPartition, int]:
    """Where source partitions without changelog start: their committed offset, else their
    beginning (or their end, with CENTINELA_START_FROM=latest)."""
    beginnings = await consumer.beginning_offsets(tps)
    # A group's first start: its whole history, or only what comes from now on.
    firsts = beginnings
    if start_from == "latest":
        firsts = await consumer.end_offsets(tps)
    starts = {}
    for tp in tps:
        committed = await consumer.committed(tp)
        starts[tp] = firsts[tp] if committed is None else max(committed, beginnings[tp])
    return starts
