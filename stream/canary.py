"""Canary serving: a fixed share of events is served by the challenger (docs/architecture.md,
"Canary serving").

With ``CENTINELA_CANARY_SHARE`` above 0 and a challenger scored in the shadow, the events whose
id hashes below the share get the challenger's prediction on ``predictions`` (role
``canary``, its version); the others keep the champion's, and the challenger's answer for them
stays on ``shadow-predictions``. The choice is CRC-32 of the event id, not Python's salted
``hash``: every worker, every restart and every replay picks the same events. Each event is
served exactly once, by one version; when the challenger cannot score a batch, the champion
serves all of it.

The champion still scores every event, and its prediction is the one the join, the windows
and ``labeled`` keep: monitoring and the live comparison of the two stay on the same footing
whatever the share.

The canary stops by itself: the retrain worker watches the live evidence and, once it calls
the challenger worse, tags the version (``CANARY_STOPPED_TAG``, with the reason) and
publishes a ``canary_stopped`` ModelEvent; every stream worker reads the tag when it looks at
the challenger again, so the stop survives restarts.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

_HASH_RANGE = float(2**32)


def canary_rows(event_ids: Sequence[str], share: float) -> np.ndarray:
    """Row positions, among ``event_ids``, of the events the canary serves.

    >>> canary_rows(["a", "b", "c"], 0.0).tolist(), canary_rows(["a", "b", "c"], 1.0).tolist()
    ([], [0, 1, 2])
    >>> ids = [f"e-{i}" for i in range(20_000)]
    >>> round(len(canary_rows(ids, 0.2)) / len(ids), 2)
    0.2
    """
    if share <= 0.0 or not event_ids:
        return np.empty(0, dtype=np.int64)
    crc = zlib.crc32
    buckets = np.fromiter((crc(i.encode()) for i in event_ids), np.float64, len(event_ids))
    return np.flatnonzero(buckets < share * _HASH_RANGE)


def served_by_canary(event_id: str, share: float) -> bool:
    """Whether the canary serves this one event (what :func:`canary_rows` decides for it)."""
    return zlib.crc32(event_id.encode()) < share * _HASH_RANGE
