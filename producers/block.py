"""A block of consecutive events with everything random about them already drawn.

Scenario streams emit blocks of a fixed size aligned to event indices, drawing each block's
randomness from a generator seeded by (seed, block number). So a run's data, label delays,
missing labels and jitter do not depend on how fast it runs or how the runner slices blocks.

>>> import numpy as np
>>> block = Block(start=10, features={"x": np.arange(4.0)}, labels=np.array([0, 1, 0, 1]))
>>> part = block.slice(1, 3)
>>> part.start, part.features["x"].tolist(), part.labels.tolist()
(11, [1.0, 2.0], [1, 0])
>>> Block.concat([part, block.slice(3, 4)]).indices.tolist()
[11, 12, 13]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def _empty() -> np.ndarray:
    return np.zeros(0)


@dataclass(frozen=True)
class Block:
    """Events ``start .. start + n - 1``: feature columns, labels, and their delivery plan.

    ``label_delay`` is in the run's delay unit (events or seconds), ``label_withheld`` marks
    labels that never arrive, ``jitter`` is how many seconds of event time an event is held back
    before it is sent (out-of-order delivery). ``event_time`` (datetime64[us], UTC) and
    ``event_id`` are set only when the data brings its own (a replayed file's mapped columns).
    """

    start: int
    features: dict[str, np.ndarray]
    labels: np.ndarray
    label_delay: np.ndarray = field(default_factory=_empty)
    label_withheld: np.ndarray = field(default_factory=_empty)
    jitter: np.ndarray = field(default_factory=_empty)
    event_time: np.ndarray = field(default_factory=_empty)
    event_id: np.ndarray = field(default_factory=_empty)

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def indices(self) -> np.ndarray:
        return np.arange(self.start, self.start + self.n, dtype=np.int64)

    def slice(self, begin: int, end: int) -> Block:
        """Rows ``begin:end`` of this block (positions relative to the block)."""
        return Block(
            start=self.start + begin,
            features={name: column[begin:end] for name, column in self.features.items()},
            labels=self.labels[begin:end],
            label_delay=_cut(self.label_delay, begin, end),
            label_withheld=_cut(self.label_withheld, begin, end),
            jitter=_cut(self.jitter, begin, end),
            event_time=_cut(self.event_time, begin, end),
            event_id=_cut(self.event_id, begin, end),
        )

    @staticmethod
    def concat(blocks: Sequence[Block]) -> Block:
        """Consecutive blocks joined into one (they must follow each other without a gap)."""
        if len(blocks) == 1:
            return blocks[0]
        for before, after in itertools.pairwise(blocks):
            if before.start + before.n != after.start:
                raise ValueError("blocks to concatenate must be consecutive")
        first = blocks[0]
        return Block(
            start=first.start,
            features={
                name: np.concatenate([b.features[name] for b in blocks]) for name in first.features
            },
            labels=np.concatenate([b.labels for b in blocks]),
            label_delay=np.concatenate([b.label_delay for b in blocks]),
            label_withheld=np.concatenate([b.label_withheld for b in blocks]),
            jitter=np.concatenate([b.jitter for b in blocks]),
            event_time=np.concatenate([b.event_time for b in blocks]),
            event_id=np.concatenate([b.event_id for b in blocks]),
        )


def _cut(column: np.ndarray, begin: int, end: int) -> np.ndarray:
    return column[begin:end] if len(column) else column
