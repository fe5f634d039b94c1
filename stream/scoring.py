"""Scoring a micro-batch: one columnar frame, one vectorised predict, one JSON line per event.

Never one predict per event (docs/architecture.md, "Faust and the aiokafka hot path"): a
batch becomes one :class:`pandas.DataFrame` in the profile's column order and goes through
:meth:`LoadedModel.predict` once. Predictions are serialised straight to the JSON of
:class:`~centinela.contract.records.Prediction` by the codec's
:class:`~centinela.contract.codec.PredictionEncoder` (pydantic per event would cost more than
the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sklearn

from centinela.models.profile import ReferenceProfile
from stream.validation import ValidEvent


@dataclass(frozen=True)
class ScoredBatch:
    """The model's answers for a batch, row for row; ``probabilities`` follow profile.classes."""

    predicted: list[Any]
    probabilities: np.ndarray | None

    def take(self, rows: np.ndarray) -> ScoredBatch:
        """The answers of the rows at these positions, in their order."""
        predicted = [self.predicted[i] for i in rows.tolist()]
        return ScoredBatch(
            predicted, None if self.probabilities is None else self.probabilities[rows]
        )

    def probability_rows(self) -> list[tuple[float, ...] | None]:
        if self.probabilities is None:
            return [None] * len(self.predicted)
        return [tuple(row) for row in self.probabilities.tolist()]


@dataclass(frozen=True)
class FeatureArrays:
    """A batch's features as arrays: numeric (rows x numeric features) and categoricals."""

    numeric: np.ndarray
    categorical: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.numeric.shape[0])

    def take(self, rows: np.ndarray | slice) -> FeatureArrays:
        return FeatureArrays(
            self.numeric[rows], {name: values[rows] for name, values in self.categorical.items()}
        )

    @classmethod
    def concatenate(cls, parts: Sequence[FeatureArrays]) -> FeatureArrays:
        names = parts[0].categorical
        return cls(
            np.concatenate([p.numeric for p in parts]),
            {n: np.concatenate([p.categorical[n] for p in parts]) for n in names},
        )

    def frame(self, profile: ReferenceProfile) -> pd.DataFrame:
        """One DataFrame (pandas column access is slow: build it once per batch, not per row)."""
        frame = pd.DataFrame(self.numeric, columns=list(profile.numeric_names), copy=False)
        if self.categorical:
            frame = frame.assign(**self.categorical)
        return frame


def feature_arrays(
    numeric_rows: Sequence[tuple[float, ...]],
    categorical_rows: Sequence[tuple[str, ...]],
    profile: ReferenceProfile,
) -> FeatureArrays:
    count, width = len(numeric_rows), len(profile.numeric_names)
    numeric = np.array(numeric_rows, dtype=np.float64).reshape(count, width)
    return FeatureArrays(numeric, categorical_arrays(categorical_rows, profile))


def categorical_arrays(
    rows: Sequence[tuple[str, ...]], profile: ReferenceProfile
) -> dict[str, np.ndarray]:
    columns = {}
    for position, name in enumerate(profile.categorical_names):
        values = np.empty(len(rows), dtype=object)
        values[:] = [row[position] for row in rows]
        columns[name] = values
    return columns


def with_numeric(
    events: Sequence[ValidEvent], numeric: np.ndarray, profile: ReferenceProfile
) -> FeatureArrays:
    """The arrays of a batch whose numeric matrix validation already built."""
    return FeatureArrays(numeric, categorical_arrays([e.categorical for e in events], profile))


def event_arrays(events: Sequence[ValidEvent], profile: ReferenceProfile) -> FeatureArrays:
    return feature_arrays([e.numeric for e in events], [e.categorical for e in events], profile)


def arrays_from_dicts(rows: Sequence[dict[str, Any]], profile: ReferenceProfile) -> FeatureArrays:
    """Feature dicts (a changelog replay) as the same arrays the live batch built."""
    numeric = [tuple(float(row[n]) for n in profile.numeric_names) for row in rows]
    categorical = [tuple(row[n] for n in profile.categorical_names) for row in rows]
    return feature_arrays(numeric, categorical, profile)


def score(model: Any, arrays: FeatureArrays, profile: ReferenceProfile) -> ScoredBatch:
    """One vectorised predict of ``model`` (a :class:`~centinela.models.registry.LoadedModel`)
    on a batch's arrays, whose numeric columns follow ``profile``.

    A trainer's pipeline is applied to the arrays themselves
    (:mod:`centinela.models.array_scoring`); any other model gets one DataFrame per batch.
    """
    if len(arrays) == 0:
        return ScoredBatch([], None)
    # Validation dead-letters non-finite features (``non_finite``), so scikit-learn's own check
    # of every value is skipped: a third of predict's fixed cost on a small batch.
    with sklearn.config_context(assume_finite=True):
        direct = model.predict_arrays(arrays.numeric, profile.numeric_names, arrays.categorical)
        predicted, probabilities = direct or model.predict(arrays.frame(profile))
    return ScoredBatch(np.asarray(predicted).tolist(), probabilities)
