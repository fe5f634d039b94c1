"""The batches between processing and settling (:mod:`stream.sink`), bounded by the records
they hold rather than by their number.

A batch waits here until its records are acknowledged, its changelog groups logged and its
offsets committed: a few broker round trips, and for a batch that closes windows also the
encoding of their partials, hundreds of milliseconds beside a busy event loop. The worker's
next fetch waits while the queue is full. Bounded at three batches, it filled at every window
close: a quiet stream's batches are small and come every few milliseconds, so the fetch waited
out the whole close and every event behind it too (the latency stalls of docs/benchmarks.md).
Bounded by records, a quiet stream's small batches queue up for as long as a saturated stream's
big ones may; what waits holds only its changelog groups and its windows' partials, the records
themselves are already in the producer's hands. A bound on the number of batches stays too, a
large one: the outputs of a tick (windows closed by the clock, no records) weigh nothing by
records, and while the broker is away they must not pile up without end.

>>> from collections import namedtuple
>>> Batch = namedtuple("Batch", "records")
>>> async def demo():
...     queue = SettleQueue(max_records=10, max_batches=100)
...     queue.put_nowait(Batch(6))
...     queue.put_nowait(Batch(6))  # taken: the queue held fewer than 10 records
...     return queue.full(), queue.records
>>> asyncio.run(demo())
(True, 12)
"""

from __future__ import annotations

import asyncio
from typing import Protocol, TypeVar


class HasRecords(Protocol):
    @property
    def records(self) -> int: ...


Item = TypeVar("Item", bound=HasRecords)


class SettleQueue(asyncio.Queue[Item]):
    """An :class:`asyncio.Queue` that is full once the items it holds count ``max_records``
    records or more, or once it holds ``max_batches`` items. It takes an item whenever it
    holds fewer records, however big the item: a batch bigger than the bound still goes
    through, alone."""

    def __init__(self, max_records: int, max_batches: int) -> None:
        super().__init__(maxsize=max_batches)
        self.max_records = max_records
        self.records = 0  # records of the items waiting
        self.unsettled = 0  # items put and not yet marked done: waiting or being settled

    def full(self) -> bool:
        return self.records >= self.max_records or super().full()

    def settled(self) -> bool:
        """Whether every item put was marked done (what :meth:`join` waits for)."""
        return self.unsettled == 0

    def task_done(self) -> None:
        super().task_done()
        self.unsettled -= 1

    # asyncio.Queue's storage hooks (as PriorityQueue and LifoQueue use them): every put and
    # get, waiting or not, goes through them.
    def _put(self, item: Item) -> None:
        super()._put(item)
        self.records += item.records
        self.unsettled += 1

    def _get(self) -> Item:
        item: Item = super()._get()
        self.records -= item.records
        return item
