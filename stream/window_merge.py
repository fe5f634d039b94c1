"""Merging the partitions' partial window summaries into one window per (version, window id).

Each partition announces, with every close, the last window it has closed (its coverage) and
the summaries it held for those windows. A window is complete once every partition of the
features topic covers it; it is then merged (exactly: summaries are mergeable) and released in
window order, so the statistics do not depend on how partitions were spread over workers. A
partition that never reports does not block forever: after ``grace_seconds`` the window is
released with what arrived, and says so.

>>> merger = WindowMerger(from_dict=dict, grace_seconds=60)
>>> merger.add({"partition": 0, "n_partitions": 2, "closed_through": 5,
...     "windows": [{"version": "1", "window_id": 5, "summary": {"n": 1}}]}, offset=0, now=0.0)
>>> merger.ready(now=1.0)
[]
>>> merger.add({"partition": 1, "n_partitions": 2, "closed_through": 5, "windows": []},
...            offset=1, now=1.0)
>>> [(w.version, w.window_id, w.partitions, w.complete) for w in merger.ready(now=2.0)]
[('1', 5, (0,), True)]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WindowKey = tuple[int, str]  # (window id, version): release order


@dataclass
class _Pending:
    partials: dict[int, Any] = field(default_factory=dict)
    first_offset: int = 0
    first_seen: float = 0.0


@dataclass(frozen=True)
class MergedWindow:
    model: str
    version: str
    window_id: int
    summary: Any
    partitions: tuple[int, ...]
    complete: bool


class WindowMerger:
    """Collects partials and coverage; releases merged windows in order."""

    def __init__(self, *, from_dict: Callable[[dict[str, Any]], Any], grace_seconds: float) -> None:
        self._from_dict = from_dict
        self.grace_seconds = grace_seconds
        self.coverage: dict[int, int] = {}
        self.n_partitions = 0
        self.model = ""
        self._pending: dict[WindowKey, _Pending] = {}
        self._released: dict[str, int] = {}  # version -> newest window id released

    def add(self, message: dict[str, Any], *, offset: int, now: float) -> None:
        partition = int(message["partition"])
        self.n_partitions = max(self.n_partitions, int(message["n_partitions"]))
        self.model = str(message.get("model", self.model))
        for item in message["windows"]:
            key = (int(item["window_id"]), str(item["version"]))
            if self._released.get(key[1], -(2**62)) >= key[0]:
                continue  # a partial repeated after a crash, for a window already reported
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = _Pending(first_offset=offset, first_seen=now)
            # A partition re-sending after a restart sends the same events: keep the latest.
            pending.partials[partition] = item["summary"]
        covered = int(message["closed_through"])
        self.coverage[partition] = max(self.coverage.get(partition, covered), covered)

    def mark_released(self, version: str, window_id: int) -> None:
        """Windows reported before a restart (read back from the drift topic)."""
        self._released[version] = max(self._released.get(version, window_id), window_id)

    def covered_through(self) -> int | None:
        if self.n_partitions == 0 or len(self.coverage) < self.n_partitions:
            return None
        return min(self.coverage.get(p, -(2**62)) for p in range(self.n_partitions))

    def ready(self, *, now: float) -> list[MergedWindow]:
        covered = self.covered_through()
        out = []
        for key in sorted(self._pending):
            window_id, version = key
            pending = self._pending[key]
            complete = covered is not None and window_id <= covered
            if not complete and now - pending.first_seen < self.grace_seconds:
                continue
            del self._pending[key]
            out.append(self._merge(version, window_id, pending, complete))
            self.mark_released(version, window_id)
        return out

    def oldest_needed_offset(self) -> int | None:
        """The first partials offset still needed: committing beyond it would lose a window."""
        if not self._pending:
            return None
        return min(p.first_offset for p in self._pending.values())

    def _merge(
        self, version: str, window_id: int, pending: _Pending, complete: bool
    ) -> MergedWindow:
        partitions = tuple(sorted(pending.partials))
        summaries = [self._from_dict(pending.partials[p]) for p in partitions]
        merged = summaries[0].merge(*summaries[1:]) if len(summaries) > 1 else summaries[0]
        return MergedWindow(self.model, version, window_id, merged, partitions, complete)
