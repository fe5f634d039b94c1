"""Tumbling event-time windows of one partition: assignment, watermarks and closing.

The methodology around them: docs/architecture.md, "Drift methodology".

An event belongs to window ``floor(event_time / window_seconds)``, decided by the event alone,
so the result does not depend on arrival order or on how many workers run. Each partition keeps
one partial summary per (model version, window) and closes a window once its watermark is past
the window's end plus the allowed lateness; later events are scored but not windowed.

The watermark is the latest feature event time of the partition. While the partition's labels
are still being read from a backlog it is held at the latest label time too, so that a label is
counted in its window however the two topics' fetches interleave.

>>> windows = PartitionWindows(window_seconds=10.0, lateness_seconds=5.0, make_summary=list)
>>> windows.window_of(25.0), windows.bounds(2)
(2, (20.0, 30.0))
>>> windows.observe_features(34.0); windows.due(labels_caught_up=True)
1
>>> windows.observe_features(35.0); windows.due(labels_caught_up=True)
2
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

S = TypeVar("S")
WindowKey = tuple[str, int]  # (model version, window id)


class PartitionWindows(Generic[S]):
    """Open window summaries of one partition, by (model version, window id)."""

    def __init__(
        self,
        *,
        window_seconds: float,
        lateness_seconds: float,
        make_summary: Callable[..., S],
    ) -> None:
        self.window_seconds = window_seconds
        self.lateness = lateness_seconds
        self._make = make_summary
        self._open: dict[WindowKey, S] = {}
        self.closed_through: int | None = None
        self.feature_watermark: float | None = None
        self.label_watermark: float | None = None

    def window_of(self, moment: float) -> int:
        return math.floor(moment / self.window_seconds)

    def bounds(self, window_id: int) -> tuple[float, float]:
        start = window_id * self.window_seconds
        return start, start + self.window_seconds

    def is_open(self, window_id: int) -> bool:
        return self.closed_through is None or window_id > self.closed_through

    def summary(self, version: str, window_id: int) -> S:
        """The open summary of (version, window), created on first use."""
        key = (version, window_id)
        found = self._open.get(key)
        if found is None:
            start, end = self.bounds(window_id)
            found = self._open[key] = self._make(version, window_id, start, end)
        return found

    def put_back(self, version: str, window_id: int, summary: S) -> None:
        """An open summary kept in a snapshot (:mod:`stream.snapshot`), as it was."""
        self._open[(version, window_id)] = summary

    def open_keys(self) -> list[WindowKey]:
        return sorted(self._open)

    def __iter__(self) -> Iterator[tuple[WindowKey, S]]:
        return iter(sorted(self._open.items()))

    def observe_features(self, latest: float) -> None:
        if self.feature_watermark is None or latest > self.feature_watermark:
            self.feature_watermark = latest

    def observe_labels(self, latest: float) -> None:
        if self.label_watermark is None or latest > self.label_watermark:
            self.label_watermark = latest

    def watermark(self, *, labels_caught_up: bool) -> float | None:
        """Event time up to which both topics of the partition have been read.

        While labels are still being read from a backlog, the features alone would run ahead
        (a fetch drains one partition at a time) and close windows, or expire join state,
        before the labels that belong there were read.
        """
        mark = self.feature_watermark
        if mark is None or labels_caught_up:
            return mark
        if self.label_watermark is None:
            return None
        return min(mark, self.label_watermark)

    def due(self, *, labels_caught_up: bool) -> int | None:
        """The last window that may close now, or None."""
        mark = self.watermark(labels_caught_up=labels_caught_up)
        if mark is None:
            return None
        last = math.floor((mark - self.lateness) / self.window_seconds) - 1
        if self.closed_through is not None and last <= self.closed_through:
            return None
        return last

    def newest_window(self) -> int | None:
        """The newest window this partition has seen an event or a label for (closing when idle)."""
        marks = [m for m in (self.feature_watermark, self.label_watermark) if m is not None]
        return self.window_of(max(marks)) if marks else None

    def close_through(self, window_id: int) -> list[tuple[str, int, S]]:
        """Close every window up to ``window_id``; return their summaries, oldest first."""
        if self.closed_through is not None and window_id <= self.closed_through:
            return []
        self.closed_through = window_id
        closing = sorted(key for key in self._open if key[1] <= window_id)
        return [(version, wid, self._open.pop((version, wid))) for version, wid in closing]

    def describe(self) -> dict[str, Any]:
        return {
            "closed_through": self.closed_through,
            "open": [list(key) for key in self.open_keys()],
            "feature_watermark": self.feature_watermark,
            "label_watermark": self.label_watermark,
        }
