"""Where the scoring consumer stands on each source partition: its next offset, whether it has
caught up with the broker, whether a partition is idle, and which topic to pause on a backlog.

The next offset is ours, not the consumer's fetch position, which runs ahead while a rebalance
drops fetched records. "Caught up" trusts a high-water mark only while fetches keep answering:
during a broker outage the last mark says nothing about what the broker holds now.
"""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from stream.state import PartitionState

# Of a partition's share of the join's memory, the most that labels waiting for their events
# may fill while its features are behind; past it the labels pause (:meth:`flow_control`).
WAITING_LABELS_SHARE = 1 / 8


class Positions:
    """The positions and pauses of one scoring consumer's features and labels partitions."""

    def __init__(self, settings: Settings, topics: Topics) -> None:
        self.topics = topics
        self.consumer: AIOKafkaConsumer | None = None  # set once the consumer is made
        self.next_offset: dict[TopicPartition, int] = {}  # the next offset to process
        self.idle_seconds = settings.window_seconds + settings.allowed_lateness_seconds
        # How far (event time) one topic of a partition may run ahead of the other on a backlog.
        self.skew = max(60.0, 2 * self.idle_seconds)
        self.memory_entries = settings.join_memory_entries
        # A fetch answers within its 0.5 s long poll: an older high-water mark means the broker
        # is away, and says nothing about what it holds now.
        self.fresh_ms = 1000.0 * min(2.0, self.idle_seconds / 2)
        self._answering: dict[TopicPartition, float] = {}

    def forget(self, tp: TopicPartition) -> None:
        """``tp`` left this worker."""
        self.next_offset.pop(tp, None)
        self._answering.pop(tp, None)

    def caught_up(self, tp: TopicPartition) -> bool:
        """Everything the broker had for ``tp`` at the last fetch has been processed."""
        assert self.consumer is not None
        position = self.next_offset.get(tp)
        try:
            highwater = self.consumer.highwater(tp)
            polled = self.consumer.last_poll_timestamp(tp)
        except AssertionError:  # not assigned (a rebalance is under way)
            return False
        if polled is None or time.time() * 1000.0 - polled > self.fresh_ms:
            return False  # a stale mark (a broker outage): not known to be caught up
        return highwater is not None and position is not None and position >= highwater

    def labels_caught_up(self, partition: int) -> bool:
        return self.caught_up(TopicPartition(self.topics.labels, partition))

    def idle(self, state: PartitionState) -> bool:
        """No feature for ``idle_seconds``, both topics read to the end, and fetches answering
        for ``idle_seconds`` too: right after a broker outage nothing new has come yet only
        because producers have not re-sent, which is not idleness."""
        now = time.monotonic()
        idle = now - state.last_feature_at >= self.idle_seconds
        for topic in (self.topics.features, self.topics.labels):
            tp = TopicPartition(topic, state.partition)
            answering = self._answering_since(tp, now)
            idle = idle and self.caught_up(tp) and now - answering >= self.idle_seconds
        return idle

    def flow_control(self, states: dict[int, PartitionState]) -> None:
        """While catching up, keep the two topics of a partition near each other in event time.

        A fetch drains one partition at a time, so after downtime one topic can run far ahead
        of the other: the join would hold everything in between. The leading topic pauses
        until the other is within ``skew`` (or caught up), which bounds memory on a backlog.

        ``skew`` is event time, so what it lets wait grows with the rate: while features are
        behind, the labels also pause once those waiting for their events fill
        ``WAITING_LABELS_SHARE`` of the partition's join memory. Fed 13,000 events/s that it
        scored at ~9,000, a worker read its labels ~60 s of event time ahead (within ``skew``)
        and 180,000 of them waited in memory (~450 bytes each, ~75 MB; counted by type in
        the worker), up to the whole budget, the rest on disk, looked up for every event.
        Never both topics: labels that no event will claim must not stop the features.
        """
        for partition, state in states.items():
            features = TopicPartition(self.topics.features, partition)
            labels = TopicPartition(self.topics.labels, partition)
            fw, lw = state.windows.feature_watermark, state.windows.label_watermark
            lead_f = lead_l = False
            if fw is not None and not self.caught_up(labels):
                lead_f = lw is None or fw - lw > self.skew
            if lw is not None and not self.caught_up(features):
                lead_l = fw is None or lw - fw > self.skew
                lead_l = lead_l or (not lead_f and self._many_labels_waiting(state))
            self._pause(features, lead_f)
            self._pause(labels, lead_l)

    def _many_labels_waiting(self, state: PartitionState) -> bool:
        share = state.join.memory_entries or self.memory_entries
        return state.join.waiting_labels > share * WAITING_LABELS_SHARE

    def _pause(self, tp: TopicPartition, pause: bool) -> None:
        assert self.consumer is not None
        paused = tp in self.consumer.paused()
        if pause and not paused:
            self.consumer.pause(tp)
        elif not pause and paused:
            self.consumer.resume(tp)

    def _answering_since(self, tp: TopicPartition, now: float) -> float:
        """Since when fetches of ``tp`` have kept answering (monotonic), updated each tick."""
        assert self.consumer is not None
        try:
            polled = self.consumer.last_poll_timestamp(tp)
        except AssertionError:
            polled = None
        if polled is None or time.time() * 1000.0 - polled > self.fresh_ms:
            self._answering.pop(tp, None)
            return now
        return self._answering.setdefault(tp, now)
