"""The changelog groups a partition's state may still need, kept in little memory.

A partition logs a group per batch, and a group stays needed until the join's watermark is a
whole horizon (twice the join TTL, and a window) past its newest moment. A stream of 4,000
events/s in batches of ~100 keeps millions of groups that long, and one heap entry per group
(a ``LoggedGroup`` and its heap tuple) cost ~285 bytes: hundreds of MB that grew with the TTL
and the batch rate. Here groups are kept by bucket of their newest moment, 1/256 of the horizon
wide. A bucket holds its groups' ids as 8-byte integers (a group id is 12 hex digits), the
few groups of more than one chunk beside them, and the newest window any of them counted in.
A bucket retires whole, in bucket order, once its windows are closed and the join's watermark
is a horizon past its end: a group's tombstones come at most one bucket width later than they
would one by one, never earlier.

>>> ledger = GroupLedger(horizon=100.0)
>>> ledger.add("00000000000a", 1, 10.0, 2)
>>> ledger.add("00000000000b", 3, 300.0, 9)
>>> ledger.retire(closed=5, expired=111.0)  # 10 s is in the bucket [9.77, 10.16): past 110.16
[b'00000000000a/0']
>>> ledger.retire(closed=5, expired=1e9), len(ledger)  # window 9 is not closed yet
([], 1)
>>> ledger.retire(closed=9, expired=1e9)
[b'00000000000b/0', b'00000000000b/1', b'00000000000b/2']
"""

from __future__ import annotations

import heapq
import math
from array import array
from dataclasses import dataclass, field
from typing import Any

from stream.changelog import chunk_keys

BUCKETS_PER_HORIZON = 256
NO_MOMENT = -(2**62)  # the bucket of groups without events or labels: offsets and watermarks
ID_DIGITS = 12  # stream.changelog.new_group_id


@dataclass
class _Bucket:
    ids: array[int] = field(default_factory=lambda: array("Q"))
    chunks: dict[int, int] = field(default_factory=dict)  # id -> chunks, when more than one
    others: list[tuple[str, int]] = field(default_factory=list)  # ids not of 12 hex digits
    newest_window: int | None = None

    def keys(self) -> list[bytes]:
        """The Kafka keys of every chunk of every group here."""
        keys = []
        for number in self.ids:
            keys += chunk_keys(f"{number:0{ID_DIGITS}x}", self.chunks.get(number, 1))
        for group_id, chunks in self.others:
            keys += chunk_keys(group_id, chunks)
        return keys

    def groups(self) -> int:
        return len(self.ids) + len(self.others)


class GroupLedger:
    """Groups by bucket of their newest moment; see the module's docstring."""

    def __init__(self, horizon: float) -> None:
        self.horizon = horizon
        self.width = horizon / BUCKETS_PER_HORIZON
        self._buckets: dict[int, _Bucket] = {}
        self._order: list[int] = []  # a heap of the buckets' numbers
        self._groups = 0

    def __len__(self) -> int:
        return self._groups

    def add(self, group_id: str, chunks: int, newest_ts: float, newest_window: int | None) -> None:
        number = self._bucket_of(newest_ts)
        bucket = self._buckets.get(number)
        if bucket is None:
            bucket = self._buckets[number] = _Bucket()
            heapq.heappush(self._order, number)
        key = _id_number(group_id)
        if key is None:
            bucket.others.append((group_id, chunks))
        else:
            bucket.ids.append(key)
            if chunks != 1:
                bucket.chunks[key] = chunks
        if newest_window is not None:
            known = bucket.newest_window
            bucket.newest_window = newest_window if known is None else max(known, newest_window)
        self._groups += 1

    def retire(self, *, closed: int | None, expired: float | None) -> list[bytes]:
        """The keys of every group that can no longer change what a replay builds (their
        windows closed, the join's watermark ``expired`` a horizon past them), now forgotten."""
        keys: list[bytes] = []
        while self._order and expired is not None:
            bucket = self._buckets[self._order[0]]
            window = bucket.newest_window
            if window is not None and (closed is None or window > closed):
                break
            if self._end(self._order[0]) + self.horizon > expired:
                break
            del self._buckets[heapq.heappop(self._order)]
            self._groups -= bucket.groups()
            keys += bucket.keys()
        return keys

    def _bucket_of(self, moment: float) -> int:
        if moment == -math.inf:
            return NO_MOMENT
        if not math.isfinite(self.width):
            return 0
        return math.floor(moment / self.width)

    def _end(self, number: int) -> float:
        """Every group of bucket ``number`` has its newest moment before this."""
        if number == NO_MOMENT:
            return -math.inf
        if not math.isfinite(self.width):
            return math.inf
        return (number + 1) * self.width

    # --- snapshots -----------------------------------------------------------------------------
    def to_document(self) -> list[list[Any]]:
        """The buckets as JSON types and bytes (stream.blob_json)."""
        return [
            [number, memoryview(b.ids.tobytes()), sorted(b.chunks.items()), b.others,
             b.newest_window]
            for number, b in sorted(self._buckets.items())
        ]  # fmt: skip

    @classmethod
    def from_document(cls, horizon: float, document: list[list[Any]]) -> GroupLedger:
        ledger = cls(horizon)
        for number, ids, chunks, others, newest_window in document:
            bucket = _Bucket(newest_window=newest_window)
            bucket.ids.frombytes(bytes(ids))
            bucket.chunks = {key: count for key, count in chunks}
            bucket.others = [(group_id, count) for group_id, count in others]
            ledger._buckets[number] = bucket
            ledger._order.append(number)
            ledger._groups += bucket.groups()
        heapq.heapify(ledger._order)
        return ledger

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GroupLedger):
            return NotImplemented
        return self.width == other.width and self.to_document() == other.to_document()

    def same_groups(self, other: GroupLedger) -> bool:
        """Equal but for the groups' ids (two workers that logged the same batches)."""

        def shape(ledger: GroupLedger) -> list[tuple[int, list[int], int | None]]:
            return [
                (n, sorted(b.chunks.get(i, 1) for i in b.ids) + [c for _, c in b.others],
                 b.newest_window)
                for n, b in sorted(ledger._buckets.items())
            ]  # fmt: skip

        return shape(self) == shape(other)


def _id_number(group_id: str) -> int | None:
    """A group id of 12 hex digits as an integer (what it prints back to); None for others."""
    if len(group_id) != ID_DIGITS:
        return None
    try:
        number = int(group_id, 16)
    except ValueError:
        return None
    return number if f"{number:0{ID_DIGITS}x}" == group_id else None
