"""The scoring service: the hot path of the worker, on aiokafka inside the Faust app.

Faust's own stream iteration measured under 2,000 events/s here (see docs/benchmarks.md), so
features and labels are consumed by one aiokafka consumer in the group ``<app id>-scoring``,
with co-partitioned assignment (the range assignor gives a worker the same partition numbers
of both topics), fetched in micro-batches of up to ``batch_size`` events, and handed to the
pure :class:`~stream.pipeline.Pipeline`. A second task delivers each batch's outputs in order
(:mod:`stream.sink`). On assignment a partition is paused while a task of its own rebuilds its
state from the changelog (:mod:`stream.restore`); then the consumer seeks to the changelog's
resume offsets and the partition is processed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.structs import TopicPartition
from mode import Service

from centinela.contract.kafka_clients import aiokafka_config
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.models.profile import ReferenceProfile
from stream.batch_output import BatchOutput
from stream.challenger import ChallengerHolder
from stream.champion import ChampionHolder
from stream.internal_topics import PARTIALS_MAX_BYTES, InternalTopics, group_base
from stream.lateness import LatenessWatch
from stream.memory import release_free_memory
from stream.pipeline import Pipeline
from stream.positions import Positions
from stream.prometheus import StreamMetrics
from stream.restore import PartitionRestorer, RestoreProgress, keep_trying, start_offsets
from stream.settle_queue import SettleQueue
from stream.sink import InFlight, OutputSink
from stream.snapshot_schedule import SnapshotSchedule
from stream.state import PartitionState

log = logging.getLogger(__name__)

TICK_SECONDS = 0.25
OUTPUT_METADATA_SECONDS = 3.0  # the longest wait for an output topic's metadata at start
TRIM_SECONDS = 0.5  # malloc_trim: a few ms; more often than this gained nothing measurable
DRAIN_SECONDS = 10.0  # at a stop, the longest wait for the batches in flight to settle
# Records (events and labels) of the processed batches that may wait to be settled before the
# next fetch waits: five full default batches of events with their labels, or half a second of
# a quiet stream's small batches at 10,000 events/s; and at most this many batches, whatever
# their records (stream.settle_queue).
SETTLE_QUEUE_RECORDS = 10_000
SETTLE_QUEUE_BATCHES = 100
SummaryMaker = Callable[[ReferenceProfile, str, int, float, float], Any]


def producer_for(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        acks="all",
        linger_ms=2,
        max_batch_size=900_000,
        max_request_size=PARTIALS_MAX_BYTES + 1_000_000,
        request_timeout_ms=30_000,
        **aiokafka_config(settings),
    )


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, service: ScoringService) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.service.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.service.on_assigned(set(assigned))


class ScoringService(Service):
    """Consume, score, join, window; deliver in order; commit."""

    def __init__(
        self,
        settings: Settings,
        topics: Topics,
        internal: InternalTopics,
        holder: ChampionHolder,
        metrics: StreamMetrics,
        make_summary: SummaryMaker,
        challenger: ChallengerHolder | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.holder = holder
        self.challenger = challenger  # scored in the shadow while it names a version
        self.metrics = metrics
        self.topics = topics
        self.internal = internal
        self.pipeline = Pipeline(settings, topics, holder.profile_of, make_summary)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.partials_producer: AIOKafkaProducer | None = None  # see _open
        self.sink: OutputSink | None = None
        # Bounded: a batch waiting here holds its changelog groups and partials in memory.
        self._queue: SettleQueue[InFlight] = SettleQueue(SETTLE_QUEUE_RECORDS, SETTLE_QUEUE_BATCHES)
        # Held from a batch's processing until it is queued: a revocation or a stop waits for
        # it, so that every state change it sees is in the queue (then delivered and logged).
        self._batching = asyncio.Lock()
        self._settled = True  # no batch failed to deliver: the states match what was logged
        self.restorer = PartitionRestorer(
            settings, internal.changelog, self.pipeline.fresh_state, holder.profile_of
        )
        self._last_tick = 0.0
        self._last_trim = 0.0
        self.snapshots = SnapshotSchedule(settings, internal.changelog)
        self.positions = Positions(settings, topics)
        self.restoring: dict[int, RestoreProgress] = {}  # partitions paused until restored
        self._assigned = False  # the group has given this worker its partitions (maybe none)
        self._restores: dict[int, asyncio.Task[None]] = {}
        self.consuming = False
        self.last_batch_at: datetime | None = None
        self.lateness = LatenessWatch()

    # --- lifecycle -----------------------------------------------------------------------------
    @Service.task
    async def _consume(self) -> None:
        while self.holder.current is None and not self.should_stop:
            await self.holder.refresh()  # not ready until the registry names a champion
            if self.holder.current is None:
                await self.sleep(min(self.settings.champion_poll_seconds, 2.0))
        if self.should_stop:
            return
        if self.challenger is not None:
            await self.challenger.refresh()  # a challenger already named is shadowed at once
        await self._open()
        log.info("scoring %s and %s", self.topics.features, self.topics.labels)
        while not self.should_stop:
            await self._step()

    @Service.task
    async def _deliver(self) -> None:
        # Not until should_stop: a stop drains the queue first (on_stop), and the task is
        # cancelled after.
        while not self.crashed:
            batches = [await self._queue.get()]
            while not self._queue.empty():  # settle what piled up in one round trip
                batches.append(self._queue.get_nowait())
            try:
                assert self.sink is not None
                await self.sink.settle(batches)
            except Exception as error:
                # Nothing was committed for these batches; crash and let a restart replay them.
                self._settled = False
                log.exception("delivering a batch failed; stopping the worker")
                await self.crash(error)
                return
            finally:
                for _ in batches:
                    self._queue.task_done()

    async def _open(self) -> None:
        settings = self.settings
        self.producer = producer_for(settings)
        await self.producer.start()
        # A closed window's partial runs to megabytes: on the predictions' connection to the
        # broker the predictions of the next batches waited behind it (aiokafka sends one
        # request at a time per broker), ~200 ms at every window close at 5,000 events/s.
        self.partials_producer = producer_for(settings)
        await self.partials_producer.start()
        await self._know_outputs()
        self.consumer = AIOKafkaConsumer(
            group_id=f"{group_base(settings)}-scoring",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            # Enough for full batches; more only sits in memory (prefetched per partition).
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=16 * 1024 * 1024,
            # The broker holds a fetch until this much waits (or the wait is over): a busy
            # stream comes in batches big enough to be cheap per event.
            fetch_min_bytes=settings.fetch_min_bytes,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            **aiokafka_config(settings),
        )
        self.positions.consumer = self.consumer
        self.consumer.subscribe(
            [self.topics.features, self.topics.labels], listener=_Rebalance(self)
        )
        self.sink = OutputSink(
            self.producer,
            self.consumer,
            self.topics,
            self.internal,
            settings.model_name,
            partials_producer=self.partials_producer,
        )
        await self.consumer.start()
        self.consuming = True

    async def _know_outputs(self) -> None:
        """Fetch the metadata of every topic the worker writes to, before the first batch:
        fetched on a first send instead, it held the first batches ~0.5 s (a latency spike
        after every start). Bounded: a topic that does not answer is left to its first send."""
        assert self.producer is not None and self.partials_producer is not None
        t = self.topics
        main = (t.predictions, t.shadow_predictions, t.labeled, t.dead_letter,
                self.internal.changelog)  # fmt: skip
        # Each producer keeps its own metadata: ask the one that will send to the topic.
        outputs = [(self.producer, topic) for topic in main]
        outputs.append((self.partials_producer, self.internal.partials))
        found = await asyncio.gather(
            *(
                asyncio.wait_for(producer.partitions_for(topic), OUTPUT_METADATA_SECONDS)
                for producer, topic in outputs
            ),
            return_exceptions=True,
        )
        for (_, topic), result in zip(outputs, found, strict=True):
            if isinstance(result, Exception):
                log.info("no metadata for %s before the first batch: %r", topic, result)

    async def on_stop(self) -> None:
        self.consuming = False
        for task in self._restores.values():
            task.cancel()
        quiet = await self._quiesce()
        try:
            if quiet:
                await self._snapshot(list(self.pipeline.states))
            self.pipeline.close()  # before a batch waiting for the lock can touch the states
        finally:
            if quiet:
                self._batching.release()
        if self.consumer is not None:
            await self.consumer.stop()
        for producer in (self.producer, self.partials_producer):
            if producer is not None:
                await producer.stop()

    async def _quiesce(self) -> bool:
        """Wait a little until no batch is being processed and every one processed is
        delivered, logged and committed; then hold the batching lock and return True. Only
        then do the states match the changelog, so that they may be kept in snapshots."""

        async def settle() -> None:
            await self._batching.acquire()
            try:
                await self._queue.join()
            except BaseException:
                self._batching.release()
                raise

        if self.crashed or not self._settled:
            return False
        try:
            await asyncio.wait_for(settle(), DRAIN_SECONDS)
        except TimeoutError:
            log.warning("batches still in flight after %.0fs: no state snapshots", DRAIN_SECONDS)
            return False
        if not self._settled:
            self._batching.release()
        return self._settled

    async def _snapshot(self, partitions: list[int]) -> None:
        """Snapshot the states of partitions that leave the worker (:mod:`stream.snapshot`)."""
        states = [self.pipeline.states[p] for p in partitions if p in self.pipeline.states]
        if self.sink is not None and states:
            await self.snapshots.leaving(states, self.sink.changelog_ends)

    async def _snapshot_running(self) -> None:
        """Between two batches (the batching lock held): a periodic snapshot of the next
        partition of the round, once every batch processed is delivered and logged, so that a
        crash replays only the changelog written after it."""
        await self._queue.join()
        if self._settled and self.sink is not None:
            self.snapshots.periodic(self.pipeline.states, self.sink.changelog_ends)

    # --- the loop ------------------------------------------------------------------------------
    async def _step(self) -> None:
        assert self.consumer is not None
        swapped = self.holder.take_next()
        if swapped is not None:
            self.metrics.hot_swaps.inc()
        champion = self.holder.current
        assert champion is not None
        self.metrics.set_version(champion.version)
        self._swap_challenger()
        data = await self.consumer.getmany(
            timeout_ms=self.settings.batch_wait_ms, max_records=self.settings.batch_size
        )
        async with self._batching:
            # Before processing: the batches before are the likeliest to be settled by now.
            if self.snapshots.due(settled=self._queue.settled()):
                await self._snapshot_running()
            await self._process(champion, data)

    async def _process(self, champion: Any, data: dict[TopicPartition, list[Any]]) -> None:
        assert self.consumer is not None
        received = time.monotonic()
        features: dict[int, list[Any]] = {}
        labels: dict[int, list[Any]] = {}
        for tp, messages in data.items():
            if tp.partition not in self.pipeline.states or not messages:
                continue  # revoked while fetched; whoever owns it next seeks back to it
            expected = self.positions.next_offset.get(tp)
            if expected is not None and messages[0].offset != expected:
                # Fetched before a restore moved the position: never a gap, never a repeat.
                log.warning(
                    "%s-%d: fetched offset %d, expected %d; fetching again from %d",
                    tp.topic,
                    tp.partition,
                    messages[0].offset,
                    expected,
                    expected,
                )
                self.consumer.seek(tp, expected)
                continue
            target = features if tp.topic == self.topics.features else labels
            target[tp.partition] = messages
            self.positions.next_offset[tp] = messages[-1].offset + 1
        if features or labels:
            try:
                out = self.pipeline.process(
                    champion,
                    features,
                    labels,
                    labels_caught_up=self.positions.labels_caught_up,
                    received_at=received,
                    # Read now, not before the fetch: a challenger that appeared meanwhile is
                    # scored from this batch on (/status shows it only once it is current).
                    challenger=None if self.challenger is None else self.challenger.current,
                    canary_share=0.0 if self.challenger is None else self.challenger.canary_share,
                )
            except Exception as error:  # a bug or an unforeseen value: never a crash loop
                log.exception("a batch raised; its records go to dead-letter as internal_error")
                out = self.pipeline.quarantine(features, labels, error)
            self._observe(out, features, received)
            await self._enqueue(out)
        if received - self._last_tick >= TICK_SECONDS:
            self._last_tick = received
            self.positions.flow_control(self.pipeline.states)
            if received - self._last_trim >= TRIM_SECONDS:
                self._last_trim = received
                release_free_memory()
            out = self.pipeline.tick(
                idle=lambda p: self.positions.idle(self.pipeline.states[p]),
                labels_caught_up=self.positions.labels_caught_up,
            )
            if not out.is_empty():
                self._observe(out, {}, received)
                await self._enqueue(out)

    def _swap_challenger(self) -> None:
        """Between batches: switch to, or drop, the challenger (as the champion is swapped)."""
        if self.challenger is None:
            return
        self.challenger.take_next()
        current = self.challenger.current
        self.metrics.set_challenger_version(None if current is None else current.version)
        self.metrics.canary_share.set(self.challenger.canary_share)

    async def _enqueue(self, out: BatchOutput) -> None:
        assert self.sink is not None
        await self._queue.put(await self.sink.publish(out))

    def _observe(self, out: BatchOutput, features: dict[int, list[Any]], received: float) -> None:
        stats, states = out.stats, self.pipeline.states.values()
        self.metrics.observe_batch(stats, time.monotonic() - received, features.values())
        if stats.events or stats.labels:
            self.last_batch_at = datetime.now(UTC)
        self.lateness.observe(stats.events, stats.late_events)
        self.metrics.join_pending_events.set(sum(s.join.pending_events for s in states))
        self.metrics.join_pending_labels.set(sum(s.join.pending_labels for s in states))

    # --- rebalancing ---------------------------------------------------------------------------
    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._batching:
            await self._queue.join()  # what was processed is delivered and committed first
            if self._settled:
                await self._snapshot(sorted({tp.partition for tp in revoked}))
            self._drop(revoked)
        log.info("revoked partitions %s", sorted({tp.partition for tp in revoked}))

    def _drop(self, revoked: set[TopicPartition]) -> None:
        for partition in {tp.partition for tp in revoked}:
            self.pipeline.revoke(partition)
            task = self._restores.pop(partition, None)
            if task is not None:
                task.cancel()
            self.restoring.pop(partition, None)
            self.snapshots.forget(partition)
            if self.sink is not None:
                self.sink.changelog_ends.pop(partition, None)
        for tp in revoked:
            self.positions.forget(tp)

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Pause the new partitions and restore each in a task of its own: the callback must
        return quickly, or the group's heartbeats and the other partitions wait on it."""
        assert self.consumer is not None
        self._assigned = True
        partitions = sorted({tp.partition for tp in assigned if tp.topic == self.topics.features})
        count = self.consumer.partitions_for_topic(self.topics.features)
        if count:
            self.pipeline.n_partitions = len(count)
        self.consumer.pause(*assigned)
        for partition in partitions:
            progress = self.restoring[partition] = RestoreProgress(partition)
            task = asyncio.ensure_future(self._restore(progress))
            self._restores[partition] = task
        log.info("assigned partitions %s; restoring their state", partitions)

    def restores_pending(self) -> bool:
        """Whether partitions are still to be restored: the group has not yet assigned any,
        or some are being restored."""
        return not self._assigned or bool(self.restoring)

    async def _restore(self, progress: RestoreProgress) -> None:
        """Rebuild one partition until it works; while it fails, /ready says why."""
        await keep_trying(progress, self._restore_once)
        self.restoring.pop(progress.partition, None)
        self._restores.pop(progress.partition, None)

    async def _restore_once(self, progress: RestoreProgress) -> None:
        state = await self.restorer.rebuild(progress)
        try:
            await self._resume(state, progress)
        except BaseException:
            state.join.close()  # never adopted
            raise

    async def _resume(self, state: PartitionState, progress: RestoreProgress) -> None:
        """Adopt the rebuilt state, seek to where it resumes and let the partition flow."""
        assert self.consumer is not None
        partition = state.partition
        resume = {
            TopicPartition(self.topics.features, partition): state.next_feature_offset,
            TopicPartition(self.topics.labels, partition): state.next_label_offset,
        }
        starts = await start_offsets(self.consumer, list(resume), self.settings.start_from)
        self.pipeline.adopt(state)
        if self.sink is not None and progress.end is not None:
            self.sink.changelog_ends[partition] = progress.end  # what the state was read to
            self.snapshots.soon()
        positions = self.positions.next_offset
        for tp, offset in resume.items():
            # Always seek, so that our own record of the position is the consumer's.
            positions[tp] = starts[tp] if offset is None else offset
            self.consumer.seek(tp, positions[tp])
        self.consumer.resume(*resume)
        progress.done({f"{tp.topic}-{tp.partition}": positions[tp] for tp in resume})
