"""A window summary that takes events as arrays and hands them over in large chunks.

:meth:`WindowSummary.add_events` takes a DataFrame, and with pandas 3 reading a column costs
tens of microseconds: calling it once per partition per micro-batch cost more than scoring.
Events wait here, as numpy rows, until the window closes (or many have gathered), and then go
in with one call. The summary is order-independent, so the result is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from centinela.models.profile import ReferenceProfile
from stream.scoring import FeatureArrays

FLUSH_ROWS = 5_000


class BufferedSummary:
    """Wraps one open :class:`~centinela.drift.summary.WindowSummary` of one partition."""

    def __init__(self, summary: Any, profile: ReferenceProfile) -> None:
        self.summary = summary
        self.profile = profile
        self._ids: list[str] = []
        self._features: list[FeatureArrays] = []
        self._predicted: list[Any] = []
        self._probabilities: list[np.ndarray] = []

    def add_events(
        self,
        event_ids: Sequence[str],
        features: FeatureArrays,
        predicted: Sequence[Any],
        probabilities: np.ndarray | None = None,
    ) -> None:
        self._ids.extend(event_ids)
        self._features.append(features)
        self._predicted.extend(predicted)
        n_classes = len(self.profile.classes)
        self._probabilities.append(
            np.full((len(event_ids), n_classes), np.nan) if probabilities is None else probabilities
        )
        if len(self._ids) >= FLUSH_ROWS:
            self.flush()

    def add_outcomes(
        self,
        event_ids: Sequence[str],
        predicted: Sequence[Any],
        labels: Sequence[Any],
        probabilities: np.ndarray | None,
        label_delays_s: Sequence[float],
        *,
        challenger_versions: Sequence[str | None] | None = None,
        challenger_predicted: Sequence[Any] | None = None,
    ) -> None:
        self.summary.add_outcomes(
            event_ids,
            predicted,
            labels,
            probabilities,
            label_delays_s,
            challenger_versions=challenger_versions,
            challenger_predicted=challenger_predicted,
        )

    def add_late(self, events: int, outcomes: int) -> None:
        self.summary.late_events += events
        self.summary.late_outcomes += outcomes

    def flush(self) -> None:
        if not self._ids:
            return
        frame = FeatureArrays.concatenate(self._features).frame(self.profile)
        probabilities = np.concatenate(self._probabilities)
        self.summary.add_events(self._ids, frame, self._predicted, probabilities)
        self._ids, self._features, self._predicted, self._probabilities = [], [], [], []

    def to_dict(self, *, binary: bool = False) -> dict[str, Any]:
        self.flush()
        return dict(self.summary.to_dict(binary=binary))

    @property
    def n_events(self) -> int:
        self.flush()
        return int(self.summary.n_events)

    @property
    def n_labeled(self) -> int:
        return int(self.summary.n_labeled)
