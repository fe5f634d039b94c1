"""Validation of a training slice against the champion's profile (pure, no broker)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from centinela.models.profile import ReferenceProfile, build_profile
from retrain.data import TrainingData
from retrain.data_checks import validate
from retrain.exceptions import TrainingDataError


def _profile() -> ReferenceProfile:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "colour": ["r", "g", "r", "g"]})
    return build_profile(frame, [0, 1, 0, 1], classes=[0, 1])


def _data(frame: pd.DataFrame, labels: list[object]) -> TrainingData:
    n = len(frame)
    return TrainingData(
        frame,
        np.asarray(labels, dtype=object),
        np.arange(n).astype("datetime64[s]").astype("datetime64[ns]"),
        np.asarray([f"e{i}" for i in range(n)], dtype=object),
        "test",
    )


def _good(n: int = 20) -> pd.DataFrame:
    return pd.DataFrame({"colour": ["r", "g"] * (n // 2), "x": np.linspace(0, 1, n)})


def _reason(data: TrainingData, min_rows: int = 10) -> str:
    with pytest.raises(TrainingDataError) as caught:
        validate(data, _profile(), min_rows=min_rows)
    return caught.value.reason


def test_a_good_slice_comes_back_aligned_to_the_profile() -> None:
    labels = ["0", "1"] * 10  # text labels for integer classes
    data = validate(_data(_good(), labels), _profile(), min_rows=10)
    assert list(data.features.columns) == ["x", "colour"]  # the profile's order
    assert data.labels.tolist() == [0, 1] * 10


@pytest.mark.parametrize(
    ("frame", "labels", "reason"),
    [
        (_good().head(0), [], "empty_range"),
        (_good().drop(columns="colour"), [0, 1] * 10, "schema_mismatch"),
        (_good().assign(extra=1.0), [0, 1] * 10, "schema_mismatch"),
        (_good().assign(x=["a"] * 20), [0, 1] * 10, "schema_mismatch"),
        (_good().assign(x=[np.nan] + [0.5] * 19), [0, 1] * 10, "nan_features"),
        (_good(), [0, 2] * 10, "unknown_class"),
        (_good(), [0] * 20, "missing_class"),
        (_good(6), [0, 1] * 3, "too_few_rows"),
    ],
)
def test_each_problem_has_its_reason(
    frame: pd.DataFrame, labels: list[object], reason: str
) -> None:
    assert _reason(_data(frame, labels)) == reason


def test_the_message_says_what_is_wrong() -> None:
    with pytest.raises(TrainingDataError, match=r"missing \['colour'\], unexpected \['extra'\]"):
        frame = _good().drop(columns="colour").assign(extra=1.0)
        validate(_data(frame, [0, 1] * 10), _profile(), min_rows=10)
