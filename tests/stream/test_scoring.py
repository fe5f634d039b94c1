"""Batch scoring: one predict per batch; the fast JSON is exactly the records' JSON."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stream.codec import decode
from stream.records import LabeledExample, Prediction
from stream.scoring import PredictionEncoder, build_frame, encode_labeled, score
from stream.validation import FeatureValidator, ValidEvent
from tests.stream.stream_data import at, event_bytes, rows, seeded_frame, trained_model


class CountingModel:
    """Wraps a LoadedModel to count predict calls (the model itself is real)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        self.calls += 1
        return self.inner.predict(frame)


def events(n: int) -> list[ValidEvent]:
    model = trained_model()
    check = FeatureValidator(model.profile)
    out = []
    for i, features in enumerate(rows(seeded_frame(n, seed=3))):
        result = check.validate(event_bytes(f"e-{i}", at(i), features))
        assert isinstance(result, ValidEvent)
        out.append(result)
    return out


def test_a_batch_is_one_frame_and_one_predict():
    model = trained_model()
    batch = events(500)
    frame = build_frame(batch, model.profile)
    assert list(frame.columns) == list(model.profile.feature_names)
    assert frame["x0"].dtype == np.float64
    assert pd.api.types.is_string_dtype(frame["colour"])
    counting = CountingModel(model)
    scored = score(counting, frame)
    assert counting.calls == 1
    assert len(scored.predicted) == 500
    expected = model.model.predict(frame)
    assert scored.predicted == expected.tolist()


def test_prediction_json_is_a_valid_prediction_record():
    model = trained_model(version="7")
    batch = events(3)
    scored = score(model, build_frame(batch, model.profile))
    encoder = PredictionEncoder("m", "7", model.profile.classes)
    values = encoder.encode(batch, scored, scored_at=at(100).isoformat(), latency_ms=2.5)
    records = [decode(Prediction, v) for v in values]
    assert [r.event_id for r in records] == ["e-0", "e-1", "e-2"]
    assert {r.model_version for r in records} == {"7"}
    first = records[0]
    assert first.event_time == at(0)
    assert first.predicted_class == scored.predicted[0]
    assert abs(sum(first.probabilities.values()) - 1.0) < 1e-9
    assert first.latency_ms == 2.5


def test_labeled_json_is_a_valid_labeled_example():
    batch = events(1)
    value = encode_labeled(
        batch[0].event_id,
        batch[0].event_time,
        batch[0].features,
        model_name="m",
        version="7",
        predicted=1,
        probabilities=(0.25, 0.75),
        class_keys=("0", "1"),
        label=0,
        label_time=at(30).isoformat(),
    )
    record = decode(LabeledExample, value)
    assert record.features == batch[0].features
    assert (record.predicted_class, record.label, record.probabilities) == (
        1,
        0,
        {"0": 0.25, "1": 0.75},
    )
    assert record.label_time == at(30)
