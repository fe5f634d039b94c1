"""Scoring a batch straight from its arrays, without a DataFrame, for the trainers' own pipelines.

Every trainer (:mod:`centinela.models.trainers`) fits the same shape: a ``ColumnTransformer``
that scales the numeric columns (``StandardScaler``) and one-hot encodes the categorical ones
(``OneHotEncoder``, unknown categories ignored), then an estimator. Asked for a few hundred
rows, scikit-learn spends ~4 ms of its ~5 ms on the DataFrame around them (column lookups,
dtype and feature-name checks, one pandas selection per transformer), a fixed cost per batch
that caps how fast a quiet stream is served. :class:`ArrayScorer` applies the same fitted
parameters with numpy, in the same order of operations, so the estimator sees bit-for-bit the
matrix the pipeline would have given it. A pipeline of any other shape gets no ArrayScorer
(:func:`array_scorer` returns None) and is scored through its DataFrame as before.

The estimator's own ``predict_proba`` still checks its input (~190 us a call, ~4 us per event
of a 50-event batch). For a logistic regression, :class:`LogisticArithmetic` does the same
arithmetic on the checked matrix directly (~5 us); it is used only after it gave, on a probe
matrix, exactly what the estimator gives, so another scikit-learn's formula is noticed, and
that estimator then keeps its own ``predict_proba``.

>>> import pandas as pd
>>> from centinela.models.trainers import train
>>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "colour": ["a", "b", "a", "b"]})
>>> model = train("logistic_regression", {}, frame, [0, 0, 1, 1])
>>> scorer = array_scorer(model, numeric_names=("x",), categorical_names=("colour",))
>>> rows = np.array([[0.5], [2.5]])
>>> colours = {"colour": np.array(["a", "never seen"], dtype=object)}
>>> bool(np.array_equal(scorer.predict_proba(rows, ("x",), colours), model.predict_proba(
...     pd.DataFrame({"x": [0.5, 2.5], "colour": ["a", "never seen"]}))))
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.extmath import softmax


@dataclass(frozen=True)
class _OneHot:
    """One categorical column's fitted categories, as a value -> output column lookup."""

    name: str
    index: dict[Any, int]

    @property
    def width(self) -> int:
        return len(self.index)


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity, never by value
class LogisticArithmetic:
    """``LogisticRegression.predict_proba`` on a matrix already checked, as scikit-learn
    computes it: the decision ``X @ coef.T + intercept``; for two classes its expit and one
    minus it, for more a softmax over the classes."""

    coef_t: np.ndarray
    intercept: np.ndarray
    binary: bool

    @classmethod
    def checked(cls, estimator: Any, width: int) -> LogisticArithmetic | None:
        """The arithmetic of a fitted logistic regression over ``width`` inputs, if it gives
        what the estimator gives on a probe matrix, bit for bit; else None."""
        if type(estimator) is not LogisticRegression or not isinstance(estimator.coef_, np.ndarray):
            return None
        if estimator.coef_.shape[1] != width:
            return None
        arithmetic = cls(
            estimator.coef_.T, np.asarray(estimator.intercept_), len(estimator.classes_) <= 2
        )
        probe = np.random.default_rng(0).normal(0.0, 3.0, (64, width))
        if not np.array_equal(arithmetic(probe), estimator.predict_proba(probe)):
            return None
        return arithmetic

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        scores = matrix @ self.coef_t + self.intercept
        if self.binary:
            positive = expit(scores.reshape(-1), out=scores.reshape(-1))
            return np.stack([1 - positive, positive], axis=1)
        return np.asarray(softmax(scores, copy=False))


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity, never by value
class ArrayScorer:
    """The fitted transform of a trainer's pipeline, applied to numeric and categorical arrays.

    A batch's numeric matrix comes in its own column order (``numeric_names``: the champion's
    profile, also when a challenger scores the same batch), taken here in the scaler's order.
    """

    scaled_columns: tuple[str, ...]
    mean: np.ndarray | None
    scale: np.ndarray | None
    one_hot: tuple[_OneHot, ...]
    estimator: Any
    arithmetic: LogisticArithmetic | None = None  # the estimator's predict_proba, unchecked
    _orders: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, compare=False)

    def transform(
        self,
        numeric: np.ndarray,
        numeric_names: Sequence[str],
        categorical: Mapping[str, np.ndarray],
    ) -> np.ndarray:
        """The matrix the pipeline's ColumnTransformer gives for these rows."""
        # Fancy indexing copies, so scaling in place leaves the caller's matrix intact.
        scaled = numeric[:, self._order(tuple(numeric_names))]
        if self.mean is not None:
            scaled -= self.mean
        if self.scale is not None:
            scaled /= self.scale
        if not self.one_hot:
            return scaled
        encoded = np.zeros((len(numeric), sum(c.width for c in self.one_hot)), dtype=np.float64)
        offset = 0
        for column in self.one_hot:
            # An unknown category has no column, so its row stays all zeros (handle_unknown).
            positions = np.fromiter(
                (column.index.get(value, -1) for value in categorical[column.name]), np.intp
            )
            rows = np.flatnonzero(positions >= 0)
            encoded[rows, offset + positions[rows]] = 1.0
            offset += column.width
        return np.hstack([scaled, encoded])

    def predict_proba(
        self,
        numeric: np.ndarray,
        numeric_names: Sequence[str],
        categorical: Mapping[str, np.ndarray],
    ) -> np.ndarray:
        matrix = self.transform(numeric, numeric_names, categorical)
        if self.arithmetic is not None:
            return self.arithmetic(matrix)
        return np.asarray(self.estimator.predict_proba(matrix))

    def _order(self, numeric_names: tuple[str, ...]) -> np.ndarray:
        order = self._orders.get(numeric_names)
        if order is None:
            position = {name: i for i, name in enumerate(numeric_names)}
            order = np.array([position[name] for name in self.scaled_columns], dtype=np.intp)
            self._orders[numeric_names] = order
        return order


def array_scorer(
    model: Any, numeric_names: Sequence[str], categorical_names: Sequence[str]
) -> ArrayScorer | None:
    """The ArrayScorer for ``model``, or None when it is not a trainer's pipeline shape or does
    not read exactly these numeric and categorical features."""
    steps = _trainer_steps(model)
    if steps is None:
        return None
    scaler, scaled_columns, encoder, encoded_columns, estimator = steps
    if sorted(scaled_columns) != sorted(numeric_names):
        return None
    if sorted(encoded_columns) != sorted(categorical_names):
        return None
    one_hot = tuple(
        _OneHot(name, {value: i for i, value in enumerate(categories.tolist())})
        for name, categories in zip(encoded_columns, _categories(encoder), strict=True)
    )
    width = len(scaled_columns) + sum(column.width for column in one_hot)
    return ArrayScorer(
        scaled_columns=tuple(scaled_columns),
        mean=_fitted(scaler, "with_mean", "mean_"),
        scale=_fitted(scaler, "with_std", "scale_"),
        one_hot=one_hot,
        estimator=estimator,
        arithmetic=LogisticArithmetic.checked(estimator, width),
    )


def _trainer_steps(model: Any) -> tuple[Any, list[str], Any, list[str], Any] | None:
    """(scaler, its columns, encoder, its columns, estimator) of a trainer's fitted pipeline."""
    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    preprocess, estimator = model.steps[0][1], model.steps[1][1]
    if not isinstance(preprocess, ColumnTransformer) or preprocess.remainder != "drop":
        return None
    if _output_config(preprocess) not in (None, "default"):
        return None  # a DataFrame output: the estimator was fitted on named columns
    fitted = [(t, list(c)) for _, t, c in preprocess.transformers_ if t != "drop"]
    if len(fitted) != 2 or not hasattr(estimator, "predict_proba"):
        return None
    (scaler, scaled), (encoder, encoded) = fitted
    if type(scaler) is not StandardScaler or type(encoder) is not OneHotEncoder:
        return None
    if not _plain_one_hot(encoder, encoded):
        return None
    return scaler, scaled, encoder, encoded, estimator


def _plain_one_hot(encoder: OneHotEncoder, columns: list[str]) -> bool:
    """One output column per fitted category, unknowns all zeros, and every category text."""
    if not columns:
        return True  # no categorical features: the encoder is never fitted on a column
    if encoder.handle_unknown != "ignore" or encoder.drop is not None or encoder.sparse_output:
        return False
    if getattr(encoder, "_infrequent_enabled", False) or encoder.dtype is not np.float64:
        return False
    return all(isinstance(v, str) for c in _categories(encoder) for v in c.tolist())


def _categories(encoder: OneHotEncoder) -> list[np.ndarray]:
    # With no categorical column the encoder is never fitted and has no categories_.
    return list(getattr(encoder, "categories_", []))


def _fitted(scaler: StandardScaler, switch: str, attribute: str) -> np.ndarray | None:
    value = getattr(scaler, attribute, None)
    return None if not getattr(scaler, switch) or value is None else np.asarray(value)


def _output_config(transformer: Any) -> str | None:
    return getattr(transformer, "_sklearn_output_config", {}).get("transform")
