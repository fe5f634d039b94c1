"""Shadow scoring: the challenger scores every batch beside the champion.

One more vectorised predict on the arrays the champion was scored on, encoded as
:class:`~centinela.contract.records.Prediction` records with the role ``shadow`` for
``shadow-predictions``, but for the share of events the canary serves (:mod:`stream.canary`),
which get ``canary`` records for ``predictions``. The challenger's class of each event also
goes into the join beside the champion's (:func:`challenger_columns`), so that when the label
comes the window counts the challenger's outcome too (:mod:`centinela.drift.summary`). The
windows' statistics, the dead letters and what is published on ``labeled`` follow the champion
alone, so a challenger that raises, or that wants other features, costs its records of that
batch and nothing more: the champion serves every event of it (logged, at most once a
minute).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from centinela.contract.records import PredictionRole
from centinela.models.profile import ReferenceProfile
from stream.canary import canary_rows
from stream.champion import Champion
from stream.scoring import FeatureArrays, ScoredBatch, score
from stream.validation import ValidEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChallengerRecords:
    """The challenger's records of one batch: ``shadow`` row for row with its events (None
    where the canary served the event), ``canary`` the served rows and their records."""

    shadow: list[bytes | None]
    canary: dict[int, bytes]
    version: str  # the challenger's, and its class for every event of the batch, in row order
    predicted: list[Any]

    @property
    def shadow_count(self) -> int:
        return len(self.shadow) - len(self.canary)

    def served(self, champion_records: list[bytes]) -> list[bytes]:
        """What ``predictions`` gets, row for row: the champion's, but the canary's rows."""
        if not self.canary:
            return champion_records
        served = list(champion_records)
        for row, record in self.canary.items():
            served[row] = record
        return served


LOG_EVERY_SECONDS = 60.0  # a challenger that raises on every batch logs once a minute


def challenger_columns(
    records: ChallengerRecords | None, rows: slice, count: int
) -> tuple[str | None, list[Any]]:
    """The challenger's version and classes for ``rows`` of the batch (``count`` of them), or
    None and one None per row when the batch was not scored in the shadow."""
    if records is None:
        return None, [None] * count
    return records.version, records.predicted[rows]


def same_features(champion: ReferenceProfile, challenger: ReferenceProfile) -> bool:
    """The challenger reads the champion's arrays: the same numeric and categorical features
    (their order does not matter: a model selects its columns by name)."""
    return set(champion.numeric_names) == set(challenger.numeric_names) and set(
        champion.categorical_names
    ) == set(challenger.categorical_names)


class ShadowScorer:
    """Scores batches with the challenger; counts what it scored and what it had to skip."""

    def __init__(self) -> None:
        self.scored = 0  # shadow records
        self.canary_served = 0  # events the challenger served as the canary
        self.skipped_batches = 0
        self._mismatched: set[str] = set()  # versions already logged as wanting other features
        self._last_failure_log = -LOG_EVERY_SECONDS

    def encode(
        self,
        challenger: Champion,
        champion: Champion,
        arrays: FeatureArrays,
        events: Sequence[ValidEvent],
        *,
        received_at: float,
        scored_at: str,
        canary_share: float = 0.0,
    ) -> ChallengerRecords | None:
        """The challenger's records, row for row with ``events``; None when it cannot score.

        With a ``canary_share``, the events the canary picks (:mod:`stream.canary`) get a
        ``canary`` record to serve instead of a ``shadow`` one."""
        if not events:
            return ChallengerRecords([], {}, challenger.version, [])
        if not same_features(champion.profile, challenger.profile):
            self._skip_mismatch(challenger, champion)
            return None
        try:
            scored = score(challenger.model, arrays, champion.profile)
            latency_ms = (time.monotonic() - received_at) * 1000.0
            records = _records(challenger, events, scored, scored_at, latency_ms, canary_share)
        except Exception:  # the challenger's own failure never reaches the champion's path
            self._skip_failure(challenger, len(events))
            return None
        self.scored += len(events) - len(records.canary)
        self.canary_served += len(records.canary)
        return records

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


def _records(
    challenger: Champion,
    events: Sequence[ValidEvent],
    scored: ScoredBatch,
    scored_at: str,
    latency_ms: float,
    canary_share: float,
) -> ChallengerRecords:
    picked = canary_rows([e.event_id for e in events], canary_share)

    def encoded(rows: np.ndarray, role: PredictionRole) -> tuple[list[int], list[bytes]]:
        chosen = rows.tolist()
        records = challenger.encoder.encode(
            [events[i] for i in chosen],
            scored.take(rows),
            scored_at=scored_at,
            latency_ms=latency_ms,
            role=role,
        )
        return chosen, records

    if not len(picked):  # the usual case: every record is a shadow one, in row order
        records = challenger.encoder.encode(
            events, scored, scored_at=scored_at, latency_ms=latency_ms
        )
        return ChallengerRecords(list(records), {}, challenger.version, scored.predicted)
    shadow: list[bytes | None] = [None] * len(events)
    rows, records = encoded(np.setdiff1d(np.arange(len(events)), picked), "shadow")
    for row, record in zip(rows, records, strict=True):
        shadow[row] = record
    rows, records = encoded(picked, "canary")
    canary = dict(zip(rows, records, strict=True))
    return ChallengerRecords(shadow, canary, challenger.version, scored.predicted)
