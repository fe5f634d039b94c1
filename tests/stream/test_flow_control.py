"""On a backlog the two topics of a partition are kept near each other: by event time, and,
while the features are behind, by how many labels wait in the join for their events.

The consumer here is a stand-in that answers for positions and pauses only (no broker): what
is tested is the worker's policy, given what a consumer reports.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, cast

from aiokafka.structs import TopicPartition

from centinela.contract.topics import Topics
from stream.join import JoinState
from stream.positions import WAITING_LABELS_SHARE, Positions
from stream.validation import ValidLabel
from tests.stream.test_pipeline import SETTINGS

TOPICS = Topics.from_settings(SETTINGS)
FEATURES, LABELS = TopicPartition(TOPICS.features, 0), TopicPartition(TOPICS.labels, 0)
MEMORY_ENTRIES = 8_000  # the partition's share of the join's memory
CAP = int(MEMORY_ENTRIES * WAITING_LABELS_SHARE)


class ReportingConsumer:
    """High-water marks as a fetch just reported them, and the pauses asked for."""

    def __init__(self, highwater: dict[TopicPartition, int]) -> None:
        self._highwater = highwater
        self._paused: set[TopicPartition] = set()

    def highwater(self, tp: TopicPartition) -> int:
        return self._highwater[tp]

    def last_poll_timestamp(self, tp: TopicPartition) -> float:
        return time.time() * 1000.0

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def pause(self, *tps: TopicPartition) -> None:
        self._paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self._paused.difference_update(tps)


def positions_at(feature_offset: int, label_offset: int) -> tuple[Positions, ReportingConsumer]:
    """Features and labels read up to these offsets, of 1,000,000 each on the broker."""
    positions = Positions(SETTINGS, TOPICS)
    consumer = ReportingConsumer({FEATURES: 1_000_000, LABELS: 1_000_000})
    positions.consumer = cast(Any, consumer)
    positions.next_offset = {FEATURES: feature_offset, LABELS: label_offset}
    return positions, consumer


def partition(feature_watermark: float, label_watermark: float, waiting: int) -> Any:
    """A partition's state as flow control reads it: watermarks, and ``waiting`` labels whose
    events have not come."""
    join = JoinState(ttl_seconds=3_600, memory_entries=MEMORY_ENTRIES)
    for n in range(waiting):
        join.add_label(ValidLabel(f"e-{n}", 1, label_watermark, "t", b"{}"))
    windows = SimpleNamespace(feature_watermark=feature_watermark, label_watermark=label_watermark)
    return SimpleNamespace(windows=windows, join=join)


def test_labels_pause_once_too_many_wait_for_features_that_are_behind() -> None:
    positions, consumer = positions_at(feature_offset=10, label_offset=20)
    # Labels 10 s of event time ahead: well within the skew, so only their number counts.
    positions.flow_control({0: partition(1_000.0, 1_010.0, waiting=CAP)})
    assert consumer.paused() == set()
    positions.flow_control({0: partition(1_000.0, 1_010.0, waiting=CAP + 1)})
    assert consumer.paused() == {LABELS}
    positions.flow_control({0: partition(1_005.0, 1_010.0, waiting=CAP // 2)})  # events came
    assert consumer.paused() == set()


def test_waiting_labels_never_pause_labels_once_the_features_are_read_to_the_end() -> None:
    positions, consumer = positions_at(feature_offset=1_000_000, label_offset=20)
    positions.flow_control({0: partition(1_000.0, 1_010.0, waiting=CAP + 1)})
    assert consumer.paused() == set()  # these labels' events are not on the broker: read on


def test_waiting_labels_never_pause_both_topics() -> None:
    positions, consumer = positions_at(feature_offset=10, label_offset=20)
    # Features far ahead in event time pause; labels that no event claims must not stop too.
    ahead = 1_000.0 + positions.skew + 1
    positions.flow_control({0: partition(ahead, 1_000.0, waiting=CAP + 1)})
    assert consumer.paused() == {FEATURES}


def test_labels_far_ahead_in_event_time_pause_however_few_wait() -> None:
    positions, consumer = positions_at(feature_offset=10, label_offset=20)
    ahead = 1_000.0 + positions.skew + 1
    positions.flow_control({0: partition(1_000.0, ahead, waiting=0)})
    assert consumer.paused() == {LABELS}
