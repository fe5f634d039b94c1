"""The label join of one partition: scored events meet their labels by ``event_id``.

Either may arrive first. State lives for ``ttl_seconds`` of *event time* (the partition's
watermark, the latest event time it has seen), so memory is bounded by the TTL and the result
does not depend on wall-clock speed. Pure: the stream logs every accepted event and label to its
changelog and rebuilds this state by replaying the same calls after a restart.

>>> from stream.validation import ValidLabel
>>> join = JoinState(ttl_seconds=60)
>>> join.add_event(Scored("e-1", 0.0, "1", 1, None, b"{}")) is None
True
>>> joined = join.add_label(ValidLabel("e-1", 1, 5.0, "t", b"{}"))
>>> joined.event.version, joined.label.label
('1', 1)
>>> join.add_label(ValidLabel("e-1", 1, 6.0, "t", b"{}")).reason
'duplicate_label'
>>> join.add_event(Scored("e-1", 0.0, "1", 1, None, b"{}")).reason
'duplicate_event_id'
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from stream.validation import Rejected, ValidLabel

DUPLICATE_EVENT = "duplicate_event_id"
DUPLICATE_LABEL = "duplicate_label"
LABEL_UNKNOWN_EVENT = "label_unknown_event"
LABEL_PAST_TTL = "label_past_ttl"


@dataclass(slots=True)
class Scored:
    """A scored event: what the join keeps until its label comes (or the TTL passes), and
    what the changelog records. ``record`` is the event packed (:mod:`stream.packed`) or, when
    it does not pack unchanged, its JSON. Not frozen: a frozen dataclass costs a microsecond
    per event to build, and there is one per event."""

    event_id: str
    event_ts: float
    version: str
    predicted: int | str
    probabilities: tuple[float, ...] | None
    record: bytes


@dataclass(slots=True)
class Joined:
    """An event with its label: becomes a LabeledExample and an outcome for concept drift."""

    event_id: str
    event: Scored
    label: ValidLabel


@dataclass(slots=True)
class LabelRejected:
    """A label that was waiting and turned out unusable when its event came or the TTL passed."""

    label: ValidLabel
    rejected: Rejected


class _Expiry:
    """Ids grouped in event-time buckets, so that expiring is cheap and memory stays small."""

    def __init__(self, bucket_seconds: float) -> None:
        self._width = bucket_seconds
        self._buckets: dict[int, list[str]] = {}
        self._heap: list[int] = []

    def add(self, key: str, moment: float) -> None:
        bucket = int(moment // self._width)
        ids = self._buckets.get(bucket)
        if ids is None:
            ids = self._buckets[bucket] = []
            heapq.heappush(self._heap, bucket)
        ids.append(key)

    def pop_before(self, moment: float) -> list[str]:
        """Ids whose whole bucket lies before ``moment``."""
        out: list[str] = []
        while self._heap and (self._heap[0] + 1) * self._width <= moment:
            out.extend(self._buckets.pop(heapq.heappop(self._heap)))
        return out


class JoinState:
    """Scored events waiting for labels and labels waiting for events, of one partition."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        width = max(ttl_seconds / 64.0, 0.001)
        # event_id -> Scored while unlabeled, None once joined (kept to catch duplicates).
        self._events: dict[str, Scored | None] = {}
        self._event_expiry = _Expiry(width)
        self._orphans: dict[str, ValidLabel] = {}
        self._orphan_expiry = _Expiry(width)
        # Ids whose event expired unlabeled: a label for them is "past TTL", not "unknown".
        self._expired: dict[str, None] = {}
        self._expired_expiry = _Expiry(width)

    @property
    def pending_events(self) -> int:
        return len(self._events)

    @property
    def pending_labels(self) -> int:
        return len(self._orphans)

    def knows(self, event_id: str) -> bool:
        """Whether ``event_id`` was scored within the TTL (a second copy is a duplicate)."""
        return event_id in self._events or event_id in self._expired

    def add_event(self, scored: Scored) -> Joined | Rejected | LabelRejected | None:
        """Keep a scored event; join it at once if its label is already here."""
        event_id = scored.event_id
        if event_id in self._events or event_id in self._expired:
            return Rejected(DUPLICATE_EVENT, f"event_id {event_id!r} was already scored")
        label = self._orphans.pop(event_id, None)
        if label is not None and label.label_ts - scored.event_ts > self.ttl:
            self._store(event_id, scored)
            return LabelRejected(label, _past_ttl(label, scored))
        if label is not None:
            self._events[event_id] = None
            self._event_expiry.add(event_id, scored.event_ts)
            return Joined(event_id, scored, label)
        self._store(event_id, scored)
        return None

    def add_label(self, label: ValidLabel) -> Joined | Rejected | None:
        """Join a label with its event, or keep it until the event comes (None)."""
        key = label.event_id
        if key in self._expired:
            return Rejected(LABEL_PAST_TTL, f"event {key!r} expired from the join unlabeled")
        if key in self._orphans:
            return Rejected(DUPLICATE_LABEL, f"a label for {key!r} is already waiting")
        if key not in self._events:
            self._orphans[key] = label
            self._orphan_expiry.add(key, label.label_ts)
            return None
        scored = self._events[key]
        if scored is None:
            return Rejected(DUPLICATE_LABEL, f"event {key!r} was already labeled")
        if label.label_ts - scored.event_ts > self.ttl:
            return _past_ttl(label, scored)
        self._events[key] = None
        return Joined(key, scored, label)

    def expire(self, watermark: float) -> list[LabelRejected]:
        """Forget what is older than the TTL; labels that never met their event come back."""
        horizon = watermark - self.ttl
        for key in self._event_expiry.pop_before(horizon):
            scored = self._events.pop(key, None)
            if scored is not None:
                self._expired[key] = None
                self._expired_expiry.add(key, scored.event_ts + self.ttl)
        for key in self._expired_expiry.pop_before(horizon):
            self._expired.pop(key, None)
        rejected = []
        for key in self._orphan_expiry.pop_before(horizon):
            label = self._orphans.pop(key, None)
            if label is not None:
                detail = f"no event {key!r} within the join TTL of {self.ttl:g}s"
                rejected.append(LabelRejected(label, Rejected(LABEL_UNKNOWN_EVENT, detail)))
        return rejected

    def _store(self, event_id: str, scored: Scored) -> None:
        self._events[event_id] = scored
        self._event_expiry.add(event_id, scored.event_ts)


def _past_ttl(label: ValidLabel, scored: Scored) -> Rejected:
    delay = label.label_ts - scored.event_ts
    return Rejected(LABEL_PAST_TTL, f"label came {delay:.1f}s after its event (TTL exceeded)")
