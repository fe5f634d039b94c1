"""Checks a slice of ``labeled`` must pass before anything is trained on it.

Each failure raises :class:`~retrain.exceptions.TrainingDataError` with a stable reason code;
the worker turns it into a ``failed`` ModelEvent. On success the data comes back aligned with the
profile: columns in the profile's order and labels of the profile's class type.

>>> import numpy as np, pandas as pd
>>> from retrain.data import TrainingData
>>> data = TrainingData(pd.DataFrame({"x": [0.1, np.nan]}), np.asarray([0, 1]),
...                     np.asarray([0, 1], dtype="datetime64[ns]"), np.asarray(["a", "b"]), "t")
>>> check_features(data.features, {"x": "numeric"})
Traceback (most recent call last):
...
retrain.exceptions.TrainingDataError: invalid training data: nan_features: 1 row(s) ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from centinela.models.profile import ReferenceProfile
from retrain.data import TrainingData
from retrain.exceptions import TrainingDataError


def validate(data: TrainingData, profile: ReferenceProfile, *, min_rows: int) -> TrainingData:
    """Check ``data`` against the champion's ``profile``; return it aligned to the profile."""
    if len(data) == 0:
        raise TrainingDataError("empty_range", f"no labeled examples in {data.source}")
    kinds = {name: profile.spec(name).kind for name in profile.feature_names}
    check_features(data.features, kinds)
    labels = align_labels(data.labels, profile.classes)
    if len(data) < min_rows:
        raise TrainingDataError(
            "too_few_rows",
            f"{len(data)} labeled examples in {data.source}; at least {min_rows} are required "
            "(CENTINELA_RETRAIN_MIN_ROWS)",
        )
    require_classes(labels, profile.classes, where="the requested range")
    return replace(data, features=data.features.loc[:, list(profile.feature_names)], labels=labels)


def check_features(features: pd.DataFrame, kinds: Mapping[str, str]) -> None:
    """Same feature names and kinds as the profile, and no missing values."""
    missing = sorted(set(kinds) - set(features.columns))
    extra = sorted(set(features.columns) - set(kinds))
    if missing or extra:
        raise TrainingDataError(
            "schema_mismatch",
            f"features differ from the champion's profile: missing {missing}, unexpected {extra}",
        )
    wrong = [
        f"{name} ({'numeric' if is_numeric_dtype(features[name]) else 'categorical'} "
        f"instead of {kind})"
        for name, kind in kinds.items()
        if (kind == "numeric") != bool(is_numeric_dtype(features[name]))
    ]
    if wrong:
        raise TrainingDataError("schema_mismatch", f"feature kinds differ: {', '.join(wrong)}")
    holes = features.isna()
    if holes.to_numpy().any():
        columns = [str(name) for name in features.columns[holes.any(axis=0).to_numpy()]]
        rows = int(holes.any(axis=1).sum())
        raise TrainingDataError(
            "nan_features", f"{rows} row(s) have missing or NaN values in {columns}"
        )


def align_labels(labels: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
    """Labels as the profile's classes (``"1"`` and ``1`` are the same class); unknown ones fail.

    >>> align_labels(np.asarray(["1", "0"]), (0, 1)).tolist()
    [1, 0]
    """
    by_text = {str(value): value for value in classes}
    texts = pd.Series(labels, dtype=object).map(str)
    unknown = sorted(set(texts) - set(by_text))
    if unknown:
        raise TrainingDataError(
            "unknown_class",
            f"labels {unknown[:10]} are not among the champion's classes {list(classes)}",
        )
    return np.asarray(texts.map(by_text).tolist())


def require_classes(labels: np.ndarray, classes: Sequence[Any], *, where: str) -> None:
    """Every class of the model must appear at least once."""
    present = {str(value) for value in np.unique(labels.astype(str))}
    absent = [value for value in classes if str(value) not in present]
    if absent:
        raise TrainingDataError("missing_class", f"classes {absent} never occur in {where}")
