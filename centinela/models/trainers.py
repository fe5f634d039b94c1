"""Named trainers: the recipes that bootstrap and retrain share (scikit-learn first).

A trainer is a name plus an estimator factory; :func:`train` wraps the estimator in a pipeline
that scales numeric columns and one-hot encodes categorical ones (unknown categories ignored),
so a model trained on one window scores the next without failing on a new category. The name
and the parameters are logged with every model version, so a retrain can repeat the champion's
recipe exactly.

>>> import pandas as pd
>>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "colour": ["a", "b", "a", "b"]})
>>> model = train("logistic_regression", {}, frame, [0, 0, 1, 1])
>>> model.predict_proba(frame).shape
(4, 2)
>>> train("xgboost-from-mars", {}, frame, [0, 0, 1, 1])
Traceback (most recent call last):
...
centinela.exceptions.TrainerError: unknown trainer 'xgboost-from-mars'; available: ...
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from centinela.exceptions import TrainerError

log = logging.getLogger(__name__)

DEFAULT_TRAINER = "logistic_regression"

EstimatorFactory = Callable[[dict[str, Any]], ClassifierMixin]

# Defaults chosen to be fast and deterministic on a 2-core machine; caller params override them.
_TRAINERS: dict[str, tuple[EstimatorFactory, dict[str, Any]]] = {
    "logistic_regression": (
        lambda p: LogisticRegression(**p),
        {"C": 1.0, "max_iter": 1000},
    ),
    "random_forest": (
        lambda p: RandomForestClassifier(**p),
        {"n_estimators": 100, "max_depth": 12, "n_jobs": 1, "random_state": 0},
    ),
    "hist_gradient_boosting": (
        lambda p: HistGradientBoostingClassifier(**p),
        {"max_iter": 200, "learning_rate": 0.1, "random_state": 0},
    ),
}

# scikit-learn's own tree classes, which skops does not trust by default; listing them lets
# MLflow save and load the tree trainers in skops format (no pickle) without a blanket trust.
SKOPS_TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


def available_trainers() -> list[str]:
    """The trainer names that :func:`train` accepts."""
    return sorted(_TRAINERS)


def default_params(name: str) -> dict[str, Any]:
    """The parameters a trainer uses when the caller passes none."""
    return dict(_lookup(name)[1])


def build_pipeline(name: str, params: Mapping[str, Any] | None, features: pd.DataFrame) -> Pipeline:
    """An unfitted pipeline for ``features``' columns plus the named estimator with ``params``.

    Column lists (not dtype selectors) are stored so the fitted pipeline serialises with skops,
    MLflow's safe default format, using only types it trusts.
    """
    factory, defaults = _lookup(name)
    merged = {**defaults, **(params or {})}
    try:
        estimator = factory(merged)
    except TypeError as error:
        raise TrainerError(f"trainer {name!r} rejects its parameters: {error}") from None
    numeric = [str(c) for c in features.select_dtypes(include=np.number).columns]
    other = [str(c) for c in features.columns if str(c) not in set(numeric)]
    preprocess = ColumnTransformer(
        [
            ("numeric", StandardScaler(), numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), other),
        ],
        verbose_feature_names_out=False,
    )
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])


def train(
    name: str,
    params: Mapping[str, Any] | None,
    features: pd.DataFrame,
    labels: Sequence[Any] | np.ndarray,
) -> Pipeline:
    """Fit the named trainer on ``features`` and ``labels``; the pipeline has ``predict_proba``."""
    if len(features) == 0:
        raise TrainerError("cannot train on an empty frame")
    if len(features) != len(labels):
        raise TrainerError(f"{len(features)} feature rows but {len(labels)} labels")
    if len(set(np.asarray(labels).tolist())) < 2:
        raise TrainerError("the training labels hold a single class; a classifier needs two")
    pipeline = build_pipeline(name, params, features)
    try:
        pipeline.fit(features, np.asarray(labels))
    except ValueError as error:
        raise TrainerError(f"trainer {name!r} failed to fit: {error}") from None
    log.debug("trained %s on %d rows x %d features", name, len(features), features.shape[1])
    return pipeline


def _lookup(name: str) -> tuple[EstimatorFactory, dict[str, Any]]:
    try:
        return _TRAINERS[name]
    except KeyError:
        raise TrainerError(
            f"unknown trainer {name!r}; available: {', '.join(available_trainers())}"
        ) from None
