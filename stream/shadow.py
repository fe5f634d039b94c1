"""Shadow scoring: the challenger scores every batch beside the champion, and only that.

One more vectorised predict on the frame the champion was scored on, encoded as
:class:`~centinela.contract.records.Prediction` records with the role ``shadow`` for
``shadow-predictions``. The challenger's class of each event also goes into the join beside
the champion's (:func:`challenger_columns`), so that when the label comes the window counts
the challenger's outcome too (:mod:`centinela.drift.summary`). The windows' statistics, the
dead letters and what is published on ``labeled`` follow the champion alone, so a challenger
that raises, or that wants other features, costs its shadow records of that batch and nothing
more (logged, at most once a minute).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from centinela.models.profile import ReferenceProfile
from stream.champion import Champion
from stream.scoring import score
from stream.validation import ValidEvent

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 60.0  # a challenger that raises on every batch logs once a minute


class ShadowBatch(list[bytes]):
    """The challenger's encoded records of a batch, row for row with its events, with the
    version that scored them and its predicted classes."""

    def __init__(self, values: list[bytes], version: str, predicted: list[Any]) -> None:
        super().__init__(values)
        self.version = version
        self.predicted = predicted


def challenger_columns(
    shadow: ShadowBatch | None, rows: slice, count: int
) -> tuple[str | None, list[Any]]:
    """The challenger's version and classes for ``rows`` of the batch (``count`` of them), or
    None and one None per row when the batch was not scored in the shadow."""
    if shadow is None:
        return None, [None] * count
    return shadow.version, shadow.predicted[rows]


def same_features(champion: ReferenceProfile, challenger: ReferenceProfile) -> bool:
    """The challenger reads the champion's frame: the same numeric and categorical features
    (their order does not matter: a model selects its columns by name)."""
    return set(champion.numeric_names) == set(challenger.numeric_names) and set(
        champion.categorical_names
    ) == set(challenger.categorical_names)


class ShadowScorer:
    """Scores batches with the challenger; counts what it scored and what it had to skip."""

    def __init__(self) -> None:
        self.scored = 0
        self.skipped_batches = 0
        self._mismatched: set[str] = set()  # versions already logged as wanting other features
        self._last_failure_log = -LOG_EVERY_SECONDS

    def encode(
        self,
        challenger: Champion,
        champion: Champion,
        frame: pd.DataFrame,
        events: Sequence[ValidEvent],
        *,
        received_at: float,
        scored_at: str,
    ) -> ShadowBatch | None:
        """The challenger's records, row for row with ``events``; None when it cannot score."""
        if not events:
            return ShadowBatch([], challenger.version, [])
        if not same_features(champion.profile, challenger.profile):
            self._skip_mismatch(challenger, champion)
            return None
        try:
            scored = score(challenger.model, frame)
            latency_ms = (time.monotonic() - received_at) * 1000.0
            values = challenger.encoder.encode(
                events, scored, scored_at=scored_at, latency_ms=latency_ms
            )
        except Exception:  # the challenger's own failure never reaches the champion's path
            self._skip_failure(challenger, len(events))
            return None
        self.scored += len(values)
        return ShadowBatch(values, challenger.version, scored.predicted)

    def _skip_mismatch(self, challenger: Champion, champion: Champion) -> None:
        self.skipped_batches += 1
        if challenger.version not in self._mismatched:
            self._mismatched.add(challenger.version)
            log.warning(
                "challenger version %s reads other features than champion version %s "
                "(%s vs %s): it is not scored in the shadow",
                challenger.version,
                champion.version,
                sorted(challenger.profile.feature_names),
                sorted(champion.profile.feature_names),
            )

    def _skip_failure(self, challenger: Champion, events: int) -> None:
        self.skipped_batches += 1
        now = time.monotonic()
        if now - self._last_failure_log >= LOG_EVERY_SECONDS:
            self._last_failure_log = now
            log.exception(
                "challenger version %s raised on a batch of %d events; its shadow predictions "
                "of the batch are skipped (%d batches skipped so far)",
                challenger.version,
                events,
                self.skipped_batches,
            )
