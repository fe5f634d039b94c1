"""Adaptive batching: how long the scoring loop lets records gather before its next fetch.

A batch step has a fixed cost (one ``predict``, a validation call, a changelog group and the
window updates per partition: ~10 ms on 2 cores) beside its cost per event. Fetching the moment
a step ends keeps a busy stream in batches so small that the fixed cost fills the loop, and an
event then waits behind a loop that is never idle (docs/benchmarks.md, "Latency"). So after a
step of ``s`` seconds the next fetch waits until ``share * s`` has passed: a quiet stream's steps
are short and so are its pauses, while a busy stream's batches grow until the fixed cost is
amortised, and the loop keeps about ``share / (1 + share)`` of its time for the network (the
producer sends and the fetches are read meanwhile). A full batch (a backlog) never waits:
there, only throughput counts. No pause is longer than ``longest``.

>>> pacer = Pacer(share=0.5, longest=0.05, batch_size=1000)
>>> pacer.record(started=10.0, ended=10.02, records=40)  # a 20 ms step of a partial batch
>>> round(pacer.pause(now=10.02), 3), pacer.pause(now=10.04)
(0.01, 0.0)
>>> pacer.record(started=11.0, ended=11.2, records=1000)  # a full batch: a backlog
>>> pacer.pause(now=11.2)
0.0
"""

from __future__ import annotations


class Pacer:
    """When the next fetch may start, from the last step's length and fill."""

    def __init__(self, *, share: float, longest: float, batch_size: int) -> None:
        self.share = share
        self.longest = longest
        self.batch_size = batch_size
        self._not_before = 0.0

    def record(self, *, started: float, ended: float, records: int) -> None:
        """A step over ``records`` records ran from ``started`` to ``ended`` (monotonic)."""
        if records >= self.batch_size:
            self._not_before = 0.0
            return
        self._not_before = ended + min(self.share * (ended - started), self.longest)

    def pause(self, *, now: float) -> float:
        """Seconds to wait before the next fetch (0: fetch now)."""
        return max(self._not_before - now, 0.0)
