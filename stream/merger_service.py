"""The merger service: one per worker group (the partials topic has one partition).

It reads the partitions' closed window partials, merges them (:mod:`stream.window_merge`), tests
each complete window (:mod:`stream.reporting`) and publishes the DriftReport, Alerts and any
RetrainRequest; MLflow and the webhook get them through their queues. Offsets are committed only
up to the oldest partial a still-open window needs, so a crash loses no window; windows reported
before a restart are read back from the drift topic and not reported twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from mode import Service

from centinela.contract.codec import encode
from centinela.contract.kafka_clients import aiokafka_config
from centinela.contract.records import DriftReport
from centinela.contract.settings import Settings
from centinela.contract.topic_reader import read_to_end
from centinela.contract.topics import Topics
from stream import blob_json
from stream.alerts import Webhook
from stream.champion import ChampionHolder
from stream.internal_topics import PARTIALS_MAX_BYTES, InternalTopics, group_base
from stream.monitoring import MonitoringLogger
from stream.prometheus import StreamMetrics
from stream.reporting import WindowReporter, WindowResult
from stream.scoring_service import producer_for
from stream.status import StatusBoard
from stream.window_merge import MergedWindow, WindowMerger

log = logging.getLogger(__name__)

TAIL = 500  # drift reports read back per partition at start, at least
MAX_TAIL = 50_000
# How long the replay of published windows waits for the scoring service's restores at most.
YIELD_TO_SCORING_SECONDS = 120.0


class _Reset(ConsumerRebalanceListener):
    """A new assignment starts a new merger, restored by the merging loop itself: aiokafka runs
    this listener beside that loop, which would otherwise merge partials (and report windows
    again) while the drift topic is still being read back."""

    def __init__(self, service: MergerService) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.service.reset()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.service.restore_pending = bool(assigned)
        self.service.assigned_at = time.monotonic()


class MergerService(Service):
    """Partials in, DriftReports / Alerts / RetrainRequests out."""

    def __init__(
        self,
        settings: Settings,
        topics: Topics,
        internal: InternalTopics,
        holder: ChampionHolder,
        metrics: StreamMetrics,
        board: StatusBoard,
        monitoring: MonitoringLogger,
        summary_from_dict: Callable[[dict[str, Any]], Any],
        webhook: Webhook | None = None,
        scoring_restores: Callable[[], bool] = lambda: False,
        **kwargs: Any,
    ) -> None:
        """``scoring_restores`` says whether the scoring service of this process is still
        restoring its partitions (:meth:`_yield_to_scoring`)."""
        super().__init__(**kwargs)
        self._scoring_restores = scoring_restores
        self.assigned_at = 0.0
        self.settings = settings
        self.holder = holder
        self.metrics = metrics
        self.board = board
        self.monitoring = monitoring
        self.webhook = webhook
        self.topics = topics
        self.internal = internal
        self._from_dict = summary_from_dict
        self.grace = 3 * (settings.window_seconds + settings.allowed_lateness_seconds) + 10
        self.merger = self._new_merger()
        self.reporter = WindowReporter(settings, holder.profile_of)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.restore_pending = False  # set on assignment; the loop restores before merging
        self._generation = 0  # one per assignment: a restore finishes only its own

    def _new_merger(self) -> WindowMerger:
        return WindowMerger(from_dict=self._from_dict, grace_seconds=self.grace)

    def reset(self) -> None:
        self.merger = self._new_merger()
        self.restore_pending = False
        self._generation += 1

    @Service.task
    async def _run(self) -> None:
        self.producer = producer_for(self.settings)
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            group_id=f"{group_base(self.settings)}-merger",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=PARTIALS_MAX_BYTES + 1_000_000,
            fetch_max_bytes=PARTIALS_MAX_BYTES + 1_000_000,
            **aiokafka_config(self.settings),
        )
        self.consumer.subscribe([self.internal.partials], listener=_Reset(self))
        await self.consumer.start()
        while not self.should_stop:
            await self._step()

    async def on_start(self) -> None:
        self.monitoring.start()
        if self.webhook is not None:
            self.webhook.start()

    async def on_stop(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.monitoring.stop)
        if self.webhook is not None:
            await loop.run_in_executor(None, self.webhook.stop)
        if self.consumer is not None:
            await self.consumer.stop()
        if self.producer is not None:
            await self.producer.stop()

    async def _step(self) -> None:
        assert self.consumer is not None
        if self.restore_pending:
            if self._yield_to_scoring():
                await self.sleep(0.2)
            else:
                await self._restore()
            return
        data = await self.consumer.getmany(timeout_ms=500)
        if self.restore_pending:  # assigned during the fetch: these come again after the restore
            for tp, messages in data.items():
                if messages and tp in self.consumer.assignment():
                    self.consumer.seek(tp, messages[0].offset)
            return
        now = time.monotonic()
        last: int | None = None
        for messages in data.values():
            for message in messages:
                self._add(message, now)
                last = message.offset
        # Merging decodes and unions whole summaries: also in a thread.
        ready = await asyncio.get_running_loop().run_in_executor(None, self._ready, now)
        for window in ready:
            try:
                await self._publish(window)
            except KafkaError:
                raise  # the broker is away: the next owner (or this one, restarted) sends it
            except Exception:  # a window that cannot be tested must not stop every later one
                log.exception(
                    "window %s of version %s could not be reported; skipped",
                    window.window_id,
                    window.version,
                )
                self.metrics.windows_failed.inc()
        if last is not None or ready:
            await self._commit(last)

    def _add(self, message: Any, now: float) -> None:
        try:
            self.merger.add(blob_json.loads(message.value), offset=message.offset, now=now)
        except Exception:  # an unreadable partial: the rest of its window still merges
            log.exception("skipping an unreadable window partial at offset %d", message.offset)
            self.metrics.windows_failed.inc()

    def _ready(self, now: float) -> list[MergedWindow]:
        return self.merger.ready(now=now)

    async def _publish(self, window: MergedWindow) -> None:
        assert self.producer is not None
        await self.holder.ensure_profiles([window.version])
        # The tests are numpy work: a thread keeps them off the event loop the scorer runs on.
        loop = asyncio.get_running_loop()
        result: WindowResult = await loop.run_in_executor(None, self.reporter.report, window)
        report, key = result.report, report_key(result.report)
        futures = [await self.producer.send(self.topics.drift, encode(report), key=key)]
        for alert in result.alerts:
            futures.append(await self.producer.send(self.topics.alerts, encode(alert), key=key))
            self.metrics.alerts.labels(kind=alert.kind).inc()
            if self.webhook is not None:
                self.webhook.send(alert)
        if result.request is not None:
            futures.append(
                await self.producer.send(
                    self.topics.retrain_requests, encode(result.request), key=key
                )
            )
            self.metrics.retrain_requests.inc()
            log.warning(
                "retrain requested: %s (%s)", result.request.request_id, result.request.reason
            )
        await asyncio.gather(*futures)
        self.monitoring.submit(report, result.alerts, result.request)
        self.board.record(report, result.alerts, result.request)
        self.metrics.windows_reported.inc()
        self.metrics.drift_flag.labels(kind="data").set(float(report.data_drift))
        self.metrics.drift_flag.labels(kind="concept").set(float(report.concept_drift))
        prediction = float(bool(report.prediction and report.prediction.drifted))
        self.metrics.drift_flag.labels(kind="prediction").set(prediction)
        joint = float(bool(report.multivariate and report.multivariate.drifted))
        self.metrics.drift_flag.labels(kind="multivariate").set(joint)
        self.metrics.set_estimate(report.estimated_performance, report.estimation_error)
        self.metrics.set_challenger_window(
            report.challenger_version,
            report.challenger_labeled,
            report.challenger_performance,
            report.challenger_paired_champion,
            report.challenger_live,
        )

    async def _commit(self, last: int | None) -> None:
        assert self.consumer is not None
        needed = self.merger.oldest_needed_offset()
        tp = TopicPartition(self.internal.partials, 0)
        if tp not in self.consumer.assignment():
            return
        target = needed if needed is not None else (None if last is None else last + 1)
        if target is None:
            return
        try:
            await self.consumer.commit({tp: target})
        except Exception as error:  # a rebalance: the next owner re-reads from the last commit
            log.warning("merger commit failed: %s", error)

    def _yield_to_scoring(self) -> bool:
        """Whether the replay of published windows waits: it costs seconds of CPU after a long
        run (every labeled outcome goes through the concept detector again), the scoring
        service's restores run in the same process meanwhile, and new events are scored only
        once those are done. Merging waits instead (partials stay on their topic), at most
        :data:`YIELD_TO_SCORING_SECONDS` after the assignment."""
        waited = time.monotonic() - self.assigned_at
        return waited < YIELD_TO_SCORING_SECONDS and self._scoring_restores()

    async def _restore(self) -> None:
        generation = self._generation
        try:
            await self.load_released()
        except Exception:  # the broker is away, say: merge nothing until the restore succeeds
            log.exception("merger: reading back the published windows failed; retrying")
            await self.sleep(1.0)
            return
        if generation == self._generation:  # else a rebalance came meanwhile: restore again
            self.restore_pending = False

    async def load_released(self) -> None:
        """Mark windows already on the drift topic, so a restart does not report them again, and
        replay them into a fresh policy (stream.reporting: the policy's state survives)."""
        published: list[DriftReport] = []
        reader = AIOKafkaConsumer(
            enable_auto_commit=False, auto_offset_reset="earliest", **aiokafka_config(self.settings)
        )
        partitions = await self._partitions_of(self.topics.drift)
        await reader.start()
        try:
            tps = [TopicPartition(self.topics.drift, p) for p in partitions]

            def mark(_: TopicPartition, messages: list[Any]) -> None:
                for message in messages:
                    report = self._mark(message.value)
                    if report is not None:
                        published.append(report)

            await read_to_end(reader, tps, mark, tail=self._tail())
        finally:
            await reader.stop()
        # Reports of one model share a key, hence a partition: offset order is their order.
        reporter = WindowReporter(self.settings, self.holder.profile_of)
        # The replay feeds the concept detector every labeled outcome of every window again:
        # ~13 million after an hour of 4,000 events/s, ~20 s of CPU. On the loop it stopped
        # the group's heartbeats, the session expired, the rebalance restored again, and so
        # on forever. In a thread, the loop goes on.
        replayed = await asyncio.to_thread(reporter.restore, published)
        self.reporter = reporter
        log.info("merger: %d published windows replayed into the retrain policy", replayed)

    async def _partitions_of(self, topic: str) -> list[int]:
        """The topic's partitions, asked of the cluster. Not ``AIOKafkaConsumer.topics()``
        then ``partitions_for_topic()``: the first fetches the metadata into a cluster object it
        discards, so the second knows only topics the consumer subscribed to (None here)."""
        admin = AIOKafkaAdminClient(**aiokafka_config(self.settings))
        await admin.start()
        try:
            described = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return sorted(p["partition"] for t in described for p in t["partitions"])

    def _tail(self) -> int:
        """Enough reports to span a cooldown twice over (and never fewer than TAIL)."""
        per_cooldown = self.settings.policy_cooldown_seconds / self.settings.window_seconds
        return min(max(TAIL, int(2 * per_cooldown) + 10), MAX_TAIL)

    def _mark(self, value: bytes) -> DriftReport | None:
        try:
            report = DriftReport.model_validate_json(value)
        except ValueError:
            return None
        if report.model_name != self.settings.model_name:
            return None
        self.merger.mark_released(report.model_version, report.window_id)
        return report


def report_key(report: DriftReport) -> bytes:
    return report.model_name.encode()
