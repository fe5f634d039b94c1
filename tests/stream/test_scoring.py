"""Batch scoring: one predict per batch (the predictions' JSON: test_codec_equivalence.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stream.scoring import event_arrays, score
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

    def predict_arrays(self, *arrays: Any) -> tuple[np.ndarray, np.ndarray] | None:
        self.calls += 1
        return self.inner.predict_arrays(*arrays)


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
    arrays = event_arrays(batch, model.profile)
    frame = arrays.frame(model.profile)
    assert list(frame.columns) == list(model.profile.feature_names)
    assert frame["x0"].dtype == np.float64
    assert pd.api.types.is_string_dtype(frame["colour"])
    counting = CountingModel(model)
    scored = score(counting, arrays, model.profile)
    assert counting.calls == 1
    assert len(scored.predicted) == 500
    expected = model.model.predict(frame)
    assert scored.predicted == expected.tolist()
