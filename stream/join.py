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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from stream.spill import SpillStore
from stream.validation import Rejected, ValidLabel

DUPLICATE_EVENT = "duplicate_event_id"
DUPLICATE_LABEL = "duplicate_label"
LABEL_UNKNOWN_EVENT = "label_unknown_event"
LABEL_PAST_TTL = "label_past_ttl"


@dataclass(slots=True)
class Scored:
    """A scored event: what the join keeps until its label comes (or the TTL passes), and
    what the changelog records. ``record`` is the event packed (:mod:`stream.packed`) or, when
    it does not pack unchanged, its JSON. ``challenger_version`` and ``challenger_predicted``
    are the challenger's class for the event when it was scored in the shadow too
    (:mod:`stream.shadow`), None otherwise: its label then counts for both models. Not frozen:
    a frozen dataclass costs a microsecond per event to build, and there is one per event."""

    event_id: str
    event_ts: float
    version: str
    predicted: int | str
    probabilities: tuple[float, ...] | None
    record: bytes
    challenger_version: str | None = None
    challenger_predicted: int | str | None = None


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
        self.width = bucket_seconds
        self._buckets: dict[int, list[str]] = {}
        self._heap: list[int] = []

    def bucket_of(self, moment: float) -> int:
        return int(moment // self.width)

    def add(self, key: str, moment: float) -> None:
        bucket = self.bucket_of(moment)
        ids = self._buckets.get(bucket)
        if ids is None:
            ids = self._buckets[bucket] = []
            heapq.heappush(self._heap, bucket)
        ids.append(key)

    def pop_before(self, moment: float) -> list[str]:
        """Ids whose whole bucket lies before ``moment``."""
        out: list[str] = []
        while self._heap and (self._heap[0] + 1) * self.width <= moment:
            out.extend(self._buckets.pop(heapq.heappop(self._heap)))
        return out

    def oldest(self) -> int | None:
        return self._heap[0] if self._heap else None

    def copy(self) -> dict[int, list[str]]:
        """The ids of each bucket, copied."""
        return {bucket: ids.copy() for bucket, ids in self._buckets.items()}

    def pop_oldest(self, most: int) -> tuple[int, list[str]]:
        """At most ``most`` ids of the oldest bucket, the first added first; the bucket goes
        once it is empty."""
        bucket = self._heap[0]
        ids = self._buckets[bucket]
        if len(ids) > most:
            taken = ids[:most]
            del ids[:most]
            return bucket, taken
        heapq.heappop(self._heap)
        return bucket, self._buckets.pop(bucket)


# The three kinds of entry, as the spill store names them.
EVENT, EXPIRED, ORPHAN = b"e", b"x", b"o"
JOINED = b""  # a spilled event's value once its label came: kept to catch duplicates

SpillFactory = Callable[[], SpillStore]
# Past its memory budget a join spills down to this share below it: a few batches' worth at
# the default budget, so each spill is small (a few ms) and not every batch spills.
SPILL_SLACK = 1 / 64
# One kind of entry in memory: (kind, {id: Scored | ValidLabel | None}, {bucket: [id]}).
MemoryTier = tuple[bytes, dict[str, Any], dict[int, list[str]]]


class JoinState:
    """Scored events waiting for labels and labels waiting for events, of one partition.

    The newest ``memory_entries`` entries stay in dictionaries; older entries move to
    a :class:`~stream.spill.SpillStore` on disk (made by ``spill`` on first need), so memory
    is bounded whatever the TTL and the rate. Lookups try memory first; the disk is read only
    once something was spilled.
    """

    def __init__(
        self,
        ttl_seconds: float,
        *,
        memory_entries: int | None = None,
        spill: SpillFactory | None = None,
    ) -> None:
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
        self.memory_entries = memory_entries
        self._make_spill = spill
        self._spill: SpillStore | None = None
        # Labels waiting on disk: none, the usual case, spares a look-up per new event.
        self._disk_orphans = 0

    @property
    def pending_events(self) -> int:
        return len(self._events) + self.spilled_entries

    @property
    def pending_labels(self) -> int:
        return len(self._orphans)

    @property
    def waiting_labels(self) -> int:
        """Labels that came before their event, in memory and on disk."""
        return len(self._orphans) + self._disk_orphans

    @property
    def memory_entry_count(self) -> int:
        return len(self._events) + len(self._orphans) + len(self._expired)

    @property
    def spill_store(self) -> SpillStore | None:
        """The disk tier, once something was spilled (for its memory figures)."""
        return self._spill

    @property
    def spilled_entries(self) -> int:
        return 0 if self._spill is None else self._spill.entries

    def knows(self, event_id: str) -> bool:
        """Whether ``event_id`` was scored within the TTL (a second copy is a duplicate)."""
        if event_id in self._events or event_id in self._expired:
            return True
        spill = self._spill
        return spill is not None and (spill.has(EVENT, event_id) or spill.has(EXPIRED, event_id))

    def add_event(
        self, scored: Scored, *, checked: bool = False
    ) -> Joined | Rejected | LabelRejected | None:
        """Keep a scored event; join it at once if its label is already here. ``checked``:
        the caller made sure the id is new (:meth:`knows`), so it is not looked up again (on
        disk, each look-up is a few microseconds)."""
        event_id = scored.event_id
        if not checked and self.knows(event_id):
            return Rejected(DUPLICATE_EVENT, f"event_id {event_id!r} was already scored")
        label = self._take_orphan(event_id)
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
        if key not in self._events:  # an id is in one place only: memory is asked first
            return self._add_label_elsewhere(label)
        scored = self._events[key]
        if scored is None:
            return Rejected(DUPLICATE_LABEL, f"event {key!r} was already labeled")
        if label.label_ts - scored.event_ts > self.ttl:
            return _past_ttl(label, scored)
        self._events[key] = None
        return Joined(key, scored, label)

    def _add_label_elsewhere(self, label: ValidLabel) -> Joined | Rejected | None:
        """A label whose event is not waiting in memory: expired, on disk, or not here yet."""
        key = label.event_id
        spill = self._spill
        if key in self._expired or (spill is not None and spill.has(EXPIRED, key)):
            return Rejected(LABEL_PAST_TTL, f"event {key!r} expired from the join unlabeled")
        if key in self._orphans or (
            spill is not None and self._disk_orphans and spill.has(ORPHAN, key)
        ):
            return Rejected(DUPLICATE_LABEL, f"a label for {key!r} is already waiting")
        if spill is not None and (value := spill.get(EVENT, key)) is not None:
            return self._join_spilled(label, value)
        self._orphans[key] = label
        self._orphan_expiry.add(key, label.label_ts)
        return None

    def expire(self, watermark: float) -> list[LabelRejected]:
        """Forget what is older than the TTL; labels that never met their event come back.
        Then, past the memory bound, move the oldest entries to disk."""
        horizon = watermark - self.ttl
        if self._spill is not None:
            self._expire_spilled(horizon)
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
                rejected.append(LabelRejected(label, _unknown(label, self.ttl)))
        if self._spill is not None:
            rejected += self._expire_spilled_orphans(horizon)
        self._bound_memory()
        return rejected

    def checkpoint_disk(self, path: Path) -> int | None:
        """A copy of the disk tier at ``path`` (:meth:`SpillStore.checkpoint`) and the count
        of its entries; None, and nothing written, when nothing has spilled yet."""
        if self._spill is None:
            return None
        self._spill.checkpoint(path)
        return self._spill.entries

    def memory_tiers(self) -> list[MemoryTier]:
        """The entries in memory as they are now, for a snapshot: per kind, a copy of its
        dictionary and of its expiry buckets (copies at C speed; the entries themselves are
        never changed once made, only replaced or removed)."""
        tiers = ((EVENT, self._event_expiry, self._events),
                 (EXPIRED, self._expired_expiry, self._expired),
                 (ORPHAN, self._orphan_expiry, self._orphans))  # fmt: skip
        return [(kind, dict(entries), expiry.copy()) for kind, expiry, entries in tiers]

    def take_over_disk(self, spill: SpillStore) -> None:
        """Use ``spill``, a snapshot's disk tier, as this (empty) join's own."""
        if self.memory_entry_count or self._spill is not None:
            raise ValueError("only an empty join takes over a disk tier")
        self._spill = spill
        self._disk_orphans = sum(1 for _ in spill.items(ORPHAN))  # few: labels before events

    def close(self) -> None:
        """Drop the disk tier (the partition left this worker, or the worker stops)."""
        if self._spill is not None:
            self._spill.destroy()
            self._spill = None
            self._disk_orphans = 0

    # --- memory and disk -----------------------------------------------------------------------
    def _store(self, event_id: str, scored: Scored) -> None:
        self._events[event_id] = scored
        self._event_expiry.add(event_id, scored.event_ts)

    def _take_orphan(self, event_id: str) -> ValidLabel | None:
        label = self._orphans.pop(event_id, None)
        if label is None and self._spill is not None and self._disk_orphans:
            value = self._spill.take(ORPHAN, event_id)
            if value is not None:
                self._disk_orphans -= 1
                label = decode_label(event_id, value)
        return label

    def _join_spilled(self, label: ValidLabel, value: bytes) -> Joined | Rejected:
        assert self._spill is not None
        if value == JOINED:
            return Rejected(DUPLICATE_LABEL, f"event {label.event_id!r} was already labeled")
        scored = decode_scored(label.event_id, value)
        if label.label_ts - scored.event_ts > self.ttl:
            return _past_ttl(label, scored)
        self._spill.replace(EVENT, label.event_id, JOINED)
        return Joined(label.event_id, scored, label)

    def _expire_spilled(self, horizon: float) -> None:
        assert self._spill is not None
        bucket = self._event_expiry.bucket_of(horizon)  # buckets wholly before the horizon
        for key, value in self._spill.pop_buckets_before(EVENT, bucket):
            if value != JOINED:
                self._expired[key] = None
                self._expired_expiry.add(key, event_ts_of(value) + self.ttl)
        self._spill.pop_buckets_before(EXPIRED, bucket)

    def _expire_spilled_orphans(self, horizon: float) -> list[LabelRejected]:
        assert self._spill is not None
        bucket = self._orphan_expiry.bucket_of(horizon)
        expired = self._spill.pop_buckets_before(ORPHAN, bucket)
        self._disk_orphans -= len(expired)
        return [
            LabelRejected(label, _unknown(label, self.ttl))
            for key, value in expired
            for label in [decode_label(key, value)]
        ]

    def _bound_memory(self) -> None:
        """Past ``memory_entries``, spill the oldest entries of any kind down to
        :data:`SPILL_SLACK` below it. A little at a time: a whole expiry bucket (1/64 of the
        TTL) can hold more than the budget, and spilling it in one go held the stream for a
        second per 200,000 entries."""
        limit = self.memory_entries
        if limit is None or self._make_spill is None or self.memory_entry_count <= limit:
            return
        if self._spill is None:
            self._spill = self._make_spill()
        target = limit - max(1, int(limit * SPILL_SLACK))
        while (excess := self.memory_entry_count - target) > 0:
            kind = self._oldest_kind()
            if kind is None:
                break
            self._spill_oldest(kind, self._spill, excess)

    def _oldest_kind(self) -> bytes | None:
        tiers = ((EVENT, self._event_expiry), (EXPIRED, self._expired_expiry))
        starts = [
            (bucket, kind)
            for kind, expiry in (*tiers, (ORPHAN, self._orphan_expiry))
            if (bucket := expiry.oldest()) is not None
        ]
        return min(starts)[1] if starts else None

    def _spill_oldest(self, kind: bytes, spill: SpillStore, most: int) -> None:
        """Move the oldest ids of one kind, at most ``most``, to disk, under their expiry
        bucket (ids already gone are skipped)."""
        items: list[tuple[str, bytes]] = []
        if kind == EVENT:
            bucket, ids = self._event_expiry.pop_oldest(most)
            for key in ids:
                if key in self._events:
                    items.append((key, encode_event_entry(self._events.pop(key))))
        elif kind == EXPIRED:
            bucket, ids = self._expired_expiry.pop_oldest(most)
            for key in ids:
                if key in self._expired:
                    del self._expired[key]
                    items.append((key, b""))
        else:
            bucket, ids = self._orphan_expiry.pop_oldest(most)
            for key in ids:
                if key in self._orphans:
                    items.append((key, encode_label(self._orphans.pop(key))))
            self._disk_orphans += len(items)
        spill.put_bucket(kind, bucket, items)


def encode_event_entry(scored: Scored | None) -> bytes:
    """A scored event as the spill stores it (JOINED once labeled)."""
    if scored is None:
        return JOINED
    fields = [scored.event_ts, scored.version, scored.predicted, scored.probabilities]
    if scored.challenger_version is not None:
        fields += [scored.challenger_version, scored.challenger_predicted]
    return orjson.dumps(fields) + b"\n" + scored.record


def decode_scored(event_id: str, value: bytes) -> Scored:
    head, _, record = value.partition(b"\n")
    ts, version, predicted, probabilities, *challenger = orjson.loads(head)
    return Scored(
        event_id,
        ts,
        version,
        predicted,
        None if probabilities is None else tuple(probabilities),
        record,
        *challenger,
    )


def event_ts_of(value: bytes) -> float:
    return float(orjson.loads(value.partition(b"\n")[0])[0])


def encode_label(label: ValidLabel) -> bytes:
    head = orjson.dumps([label.label, label.label_ts, label.label_time, label.offset])
    return head + b"\n" + label.raw


def decode_label(event_id: str, value: bytes) -> ValidLabel:
    head, _, raw = value.partition(b"\n")
    label, label_ts, label_time, offset = orjson.loads(head)
    return ValidLabel(event_id, label, label_ts, label_time, raw, offset)


def _unknown(label: ValidLabel, ttl: float) -> Rejected:
    return Rejected(
        LABEL_UNKNOWN_EVENT, f"no event {label.event_id!r} within the join TTL of {ttl:g}s"
    )


def _past_ttl(label: ValidLabel, scored: Scored) -> Rejected:
    delay = label.label_ts - scored.event_ts
    return Rejected(LABEL_PAST_TTL, f"label came {delay:.1f}s after its event (TTL exceeded)")
