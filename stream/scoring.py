"""Scoring a micro-batch: one columnar frame, one vectorised predict, one JSON line per event.

Never one predict per event (DESIGN.md §3): a batch becomes one :class:`pandas.DataFrame` in
the profile's column order and goes through :meth:`LoadedModel.predict` once. Predictions are
serialised straight to the JSON of :class:`~stream.records.Prediction` with orjson (pydantic per
event would cost more than the model); a test holds the two encodings together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from stream.profile import ReferenceProfile
from stream.validation import ValidEvent


@dataclass(frozen=True)
class ScoredBatch:
    """The model's answers for a batch, row for row; ``probabilities`` follow profile.classes."""

    predicted: list[Any]
    probabilities: np.ndarray | None

    def probability_rows(self) -> list[tuple[float, ...] | None]:
        if self.probabilities is None:
            return [None] * len(self.predicted)
        return [tuple(row) for row in self.probabilities.tolist()]


def frame_from_dicts(rows: Sequence[dict[str, Any]], profile: ReferenceProfile) -> pd.DataFrame:
    """Feature dicts as a frame in the profile's columns (the same dtypes as scoring uses)."""
    columns: dict[str, np.ndarray] = {}
    for spec in profile.features:
        if spec.kind == "numeric":
            columns[spec.name] = np.fromiter(
                (row[spec.name] for row in rows), dtype=np.float64, count=len(rows)
            )
        else:
            values = np.empty(len(rows), dtype=object)
            values[:] = [row[spec.name] for row in rows]
            columns[spec.name] = values
    return pd.DataFrame(columns, copy=False)


def build_frame(events: Sequence[ValidEvent], profile: ReferenceProfile) -> pd.DataFrame:
    """The batch as columns: float64 for numerics, object for categoricals, profile order."""
    return frame_from_dicts([event.features for event in events], profile)


def score(model: Any, frame: pd.DataFrame) -> ScoredBatch:
    """One vectorised call of ``model.predict`` (a :class:`~stream.registry.LoadedModel`)."""
    if len(frame) == 0:
        return ScoredBatch([], None)
    predicted, probabilities = model.predict(frame)
    return ScoredBatch(np.asarray(predicted).tolist(), probabilities)


class PredictionEncoder:
    """Serialises predictions of one model version as :class:`~stream.records.Prediction` JSON."""

    def __init__(self, model_name: str, version: str, classes: Sequence[Any]) -> None:
        self.model_name = model_name
        self.version = version
        self._class_keys = [str(c) for c in classes]

    def encode(
        self,
        events: Sequence[ValidEvent],
        batch: ScoredBatch,
        *,
        scored_at: str,
        latency_ms: float,
    ) -> list[bytes]:
        keys = self._class_keys
        rows = batch.probability_rows()
        out = []
        for event, predicted, row in zip(events, batch.predicted, rows, strict=True):
            out.append(
                orjson.dumps(
                    {
                        "schema_version": 1,
                        "event_id": event.event_id,
                        "event_time": event.event_time,
                        "model_name": self.model_name,
                        "model_version": self.version,
                        "predicted_class": predicted,
                        "probabilities": None if row is None else dict(zip(keys, row, strict=True)),
                        "scored_at": scored_at,
                        "latency_ms": latency_ms,
                    }
                )
            )
        return out


def encode_labeled(
    raw_event: bytes,
    *,
    model_name: str,
    version: str,
    predicted: Any,
    probabilities: tuple[float, ...] | None,
    class_keys: Sequence[str],
    label: Any,
    label_time: str,
) -> bytes:
    """A :class:`~stream.records.LabeledExample` as JSON, from the event's original bytes."""
    event = orjson.loads(raw_event)
    return orjson.dumps(
        {
            "schema_version": 1,
            "event_id": event["event_id"],
            "event_time": event["event_time"],
            "features": event["features"],
            "model_name": model_name,
            "model_version": version,
            "predicted_class": predicted,
            "probabilities": None
            if probabilities is None
            else dict(zip(class_keys, probabilities, strict=True)),
            "label": label,
            "label_time": label_time,
        }
    )
