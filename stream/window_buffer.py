"""A window summary that takes events and outcomes as arrays and hands them over in large chunks.

:meth:`WindowSummary.add_events` takes a DataFrame, and with pandas 3 reading a column costs
tens of microseconds: calling it once per partition per micro-batch cost more than scoring.
Events wait here, as numpy rows, until the window closes (or many have gathered), and then go
in with one call. The summary is order-independent, so the result is the same. Labeled outcomes
wait likewise: a small batch's few outcomes cost the summary's whole set-up per call (hashing,
deduplication, a table each). Their classes are checked as they come (an unknown class raises
in the batch that brought it), and handed over as class indices, in arrival order, so the first
of two outcomes of one event still wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from centinela.drift.exceptions import DriftError
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
        self._outcomes: list[_Outcomes] = []
        self._outcome_count = 0

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
            self._flush_events()

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
        n = len(event_ids)
        if not n == len(predicted) == len(labels) == len(label_delays_s):
            raise DriftError("outcome sequences must have the same length")
        layout, n_classes = self.summary.layout, len(self.profile.classes)
        self._outcomes.append(
            _Outcomes(
                list(event_ids),
                layout.class_codes(predicted, what="predicted class"),
                layout.class_codes(labels, what="label"),
                np.full((n, n_classes), np.nan)
                if probabilities is None
                else np.asarray(probabilities, dtype=np.float64).reshape(n, n_classes),
                np.asarray(label_delays_s, dtype=np.float64),
                [None] * n if challenger_versions is None else list(challenger_versions),
                [None] * n if challenger_predicted is None else list(challenger_predicted),
            )
        )
        self._outcome_count += n
        if self._outcome_count >= FLUSH_ROWS:
            self._flush_outcomes()

    def add_late(self, events: int, outcomes: int) -> None:
        self.summary.late_events += events
        self.summary.late_outcomes += outcomes

    def flush(self) -> None:
        """Hand everything waiting over to the summary."""
        self._flush_events()
        self._flush_outcomes()

    def _flush_events(self) -> None:
        if not self._ids:
            return
        frame = FeatureArrays.concatenate(self._features).frame(self.profile)
        probabilities = np.concatenate(self._probabilities)
        self.summary.add_events(self._ids, frame, self._predicted, probabilities)
        self._ids, self._features, self._predicted, self._probabilities = [], [], [], []

    def _flush_outcomes(self) -> None:
        if not self._outcomes:
            return
        parts, self._outcomes, self._outcome_count = self._outcomes, [], 0
        versions = [v for part in parts for v in part.challenger_versions]
        shadowed = versions.count(None) != len(versions)
        self.summary.add_outcomes(
            [i for part in parts for i in part.event_ids],
            np.concatenate([part.predicted for part in parts]),
            np.concatenate([part.labels for part in parts]),
            np.concatenate([part.probabilities for part in parts]),
            np.concatenate([part.delays for part in parts]),
            challenger_versions=versions if shadowed else None,
            challenger_predicted=[c for part in parts for c in part.challenger_predicted]
            if shadowed
            else None,
            coded=True,
        )

    def to_dict(self, *, binary: bool = False) -> dict[str, Any]:
        self.flush()
        return dict(self.summary.to_dict(binary=binary))

    @property
    def n_events(self) -> int:
        self._flush_events()
        return int(self.summary.n_events)

    @property
    def n_labeled(self) -> int:
        self._flush_outcomes()
        return int(self.summary.n_labeled)


@dataclass(frozen=True)
class _Outcomes:
    """One call's outcomes, waiting: classes as indices, probabilities as a matrix (NaN when
    the model gave none), one challenger entry per outcome (None where none scored it)."""

    event_ids: list[str]
    predicted: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray
    delays: np.ndarray
    challenger_versions: list[str | None]
    challenger_predicted: list[Any]
