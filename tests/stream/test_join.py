"""The label join: either arrival order, TTL by event time, duplicates, bounded memory."""

from __future__ import annotations

from stream.join import (
    DUPLICATE_EVENT,
    DUPLICATE_LABEL,
    LABEL_PAST_TTL,
    LABEL_UNKNOWN_EVENT,
    Joined,
    JoinState,
    LabelRejected,
    Scored,
)
from stream.validation import Rejected, ValidLabel


def scored(event_id: str, ts: float, predicted: int = 1) -> Scored:
    return Scored(event_id, ts, "1", predicted, (0.2, 0.8), b"{}")


def label(event_id: str, ts: float, value: int = 1) -> ValidLabel:
    return ValidLabel(event_id, value, ts, "t", b"{}")


def test_event_then_label_joins():
    join = JoinState(ttl_seconds=60)
    assert join.add_event(scored("a", 0.0)) is None
    result = join.add_label(label("a", 10.0, 0))
    assert isinstance(result, Joined)
    assert (result.event.predicted, result.label.label) == (1, 0)


def test_label_then_event_joins():
    join = JoinState(ttl_seconds=60)
    assert join.add_label(label("a", 10.0)) is None
    assert join.pending_labels == 1
    result = join.add_event(scored("a", 5.0))
    assert isinstance(result, Joined)
    assert join.pending_labels == 0


def test_duplicates_are_rejected_with_their_reasons():
    join = JoinState(ttl_seconds=60)
    join.add_event(scored("a", 0.0))
    assert join.add_event(scored("a", 1.0)).reason == DUPLICATE_EVENT
    join.add_label(label("a", 2.0))
    assert join.add_label(label("a", 3.0)).reason == DUPLICATE_LABEL
    join.add_label(label("b", 3.0))
    assert join.add_label(label("b", 4.0)).reason == DUPLICATE_LABEL


def test_a_label_later_than_the_ttl_is_rejected_either_way():
    join = JoinState(ttl_seconds=60)
    join.add_event(scored("a", 0.0))
    assert join.add_label(label("a", 61.0)).reason == LABEL_PAST_TTL
    join.add_label(label("b", 200.0))
    result = join.add_event(scored("b", 100.0))
    assert isinstance(result, LabelRejected)
    assert result.rejected.reason == LABEL_PAST_TTL


def test_expiry_bounds_memory_and_names_what_expired():
    join = JoinState(ttl_seconds=10)
    for i in range(100):
        join.add_event(scored(f"e{i}", float(i)))
    join.add_label(label("nobody", 95.0))
    assert join.expire(watermark=99.0) == []  # nothing older than 99 - 10 - one bucket yet
    assert join.pending_events < 100
    assert join.pending_events >= 10  # the last TTL of events is kept
    rejected = join.expire(watermark=115.0)
    assert join.pending_events == 0
    assert [r.rejected.reason for r in rejected] == [LABEL_UNKNOWN_EVENT]
    # A label for an event that expired unlabeled is past the TTL, not unknown.
    late = join.add_label(label("e99", 115.0))
    assert isinstance(late, Rejected)
    assert late.reason == LABEL_PAST_TTL
    # And a second copy of that event is still a duplicate while its id is remembered.
    assert join.knows("e99")
