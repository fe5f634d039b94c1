"""Items that wait until the clock reaches their due key: delayed labels, jittered events.

Vectorised: items arrive and leave in numpy batches, kept as key-sorted segments, so holding
a million pending labels costs a few arrays, not a million Python objects. Segments merge like
a binary counter (a new segment merges with the previous one while it is at least half its
size), so there are O(log n) of them however many small pushes a long delay accumulates.

>>> queue = DueQueue()
>>> queue.push(np.array([5.0, 1.0, 3.0]), {"id": np.array(["c", "a", "b"], dtype=object)})
>>> keys, items = queue.pop_due(3.0)
>>> keys.tolist(), items["id"].tolist(), len(queue)
([1.0, 3.0], ['a', 'b'], 1)
"""

from __future__ import annotations

import numpy as np

Payload = dict[str, np.ndarray]


class DueQueue:
    def __init__(self) -> None:
        self._segments: list[tuple[np.ndarray, Payload]] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def push(self, keys: np.ndarray, payload: Payload) -> None:
        if len(keys) == 0:
            return
        order = np.argsort(keys, kind="stable")
        self._segments.append((keys[order], {name: v[order] for name, v in payload.items()}))
        self._size += len(keys)
        while len(self._segments) > 1 and 2 * len(self._segments[-1][0]) >= len(
            self._segments[-2][0]
        ):
            newer = self._segments.pop()
            older = self._segments.pop()
            self._segments.append(_sorted_union([older, newer]))

    def pop_due(self, now: float) -> tuple[np.ndarray, Payload]:
        """Every item with key <= ``now``, in key order."""
        released: list[tuple[np.ndarray, Payload]] = []
        kept: list[tuple[np.ndarray, Payload]] = []
        for keys, payload in self._segments:
            cut = int(np.searchsorted(keys, now, side="right"))
            if cut:
                released.append((keys[:cut], {n: v[:cut] for n, v in payload.items()}))
            if cut < len(keys):
                kept.append((keys[cut:], {n: v[cut:] for n, v in payload.items()}))
        self._segments = kept
        return self._merge(released)

    def pop_all(self) -> tuple[np.ndarray, Payload]:
        return self.pop_due(np.inf)

    def next_due(self) -> float | None:
        """The smallest key waiting, or None when empty."""
        if not self._segments:
            return None
        return float(min(keys[0] for keys, _ in self._segments))

    def _merge(self, parts: list[tuple[np.ndarray, Payload]]) -> tuple[np.ndarray, Payload]:
        if not parts:
            return np.zeros(0), {}
        self._size -= sum(len(keys) for keys, _ in parts)
        return _sorted_union(parts)


def _sorted_union(parts: list[tuple[np.ndarray, Payload]]) -> tuple[np.ndarray, Payload]:
    if len(parts) == 1:
        return parts[0]
    keys = np.concatenate([k for k, _ in parts])
    order = np.argsort(keys, kind="stable")
    names = parts[0][1].keys()
    payload = {name: np.concatenate([p[name] for _, p in parts])[order] for name in names}
    return keys[order], payload
