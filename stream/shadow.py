"""Shadow scoring: the challenger scores every batch beside the champion, and only that.

One more vectorised predict on the frame the champion was scored on, encoded as
:class:`~centinela.contract.records.Prediction` records with the role ``shadow`` for
``shadow-predictions``. Nothing else reads them: the join, the windows and the dead letters
follow the champion alone, so a challenger that raises, or that wants other features, costs
its shadow records of that batch and nothing more (logged, at most once a minute).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import pandas as pd

from centinela.models.profile import ReferenceProfile
from stream.champion import Champion
from stream.scoring import score
from stream.validation import ValidEvent

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 60.0  # a challenger that raises on every batch logs once a minute


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
    ) -> list[bytes] | None:
        """The challenger's records, row for row with ``events``; None when it cannot score."""
        if not events:
            return []
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
        return values

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
