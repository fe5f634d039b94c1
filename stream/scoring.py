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

from stream.memory import right_sized
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


def build_frame(events: Sequence[ValidEvent], profile: ReferenceProfile) -> pd.DataFrame:
    """The batch as one frame: float64 numerics, object categoricals."""
    return event_arrays(events, profile).frame(profile)


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
        self._proba_template = (
            b"{"
            + b",".join(orjson.dumps(k).replace(b"%", b"%%") + b":%s" for k in self._class_keys)
            + b"}"
        )

    def encode(
        self,
        events: Sequence[ValidEvent],
        batch: ScoredBatch,
        *,
        scored_at: str,
        latency_ms: float,
    ) -> list[bytes]:
        # What is the same for the whole batch is printed once into a byte template; per event
        # only the id, the time, the class and the probabilities are filled in.
        tail = orjson.dumps(
            {
                "model_name": self.model_name,
                "model_version": self.version,
                "scored_at": scored_at,
                "latency_ms": latency_ms,
            }
        )[1:-1].replace(b"%", b"%%")
        template = (
            b'{"schema_version":1,"event_id":%s,"event_time":%s,"predicted_class":%s,'
            b'"probabilities":%s,' + tail + b"}"
        )
        classes: dict[Any, bytes] = {}
        probabilities = self._probabilities(batch)
        dumps = orjson.dumps
        out = []
        for event, predicted, proba in zip(events, batch.predicted, probabilities, strict=True):
            printed = classes.get(predicted)
            if printed is None:
                printed = classes[predicted] = dumps(predicted)
            out.append(template % (dumps(event.event_id), dumps(event.event_time), printed, proba))
        return out

    def _probabilities(self, batch: ScoredBatch) -> list[bytes]:
        if batch.probabilities is None or not len(batch.predicted):
            return [b"null"] * len(batch.predicted)
        # The whole matrix in one orjson call, cut back into rows and poured into the
        # {"class": p, ...} template: six times faster than a dict and a dumps per row.
        printed = orjson.dumps(
            np.ascontiguousarray(batch.probabilities, dtype=np.float64),
            option=orjson.OPT_SERIALIZE_NUMPY,
        )
        template = self._proba_template
        return [template % tuple(row.split(b",")) for row in printed[2:-2].split(b"],[")]


def encode_labeled(
    event_id: str,
    event_time: str,
    features: dict[str, Any],
    *,
    model_name: str,
    version: str,
    predicted: Any,
    probabilities: tuple[float, ...] | None,
    class_keys: Sequence[str],
    label: Any,
    label_time: str,
) -> bytes:
    """A :class:`~stream.records.LabeledExample` as JSON (the event's time text and features as
    they came: see :func:`stream.packed.event_fields`)."""
    return right_sized(
        orjson.dumps(
            {
                "schema_version": 1,
                "event_id": event_id,
                "event_time": event_time,
                "features": features,
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
    )
