"""Probability calibration stored in a reference profile: what the performance estimate before
labels (:mod:`centinela.drift.estimation`) applies to the model's own probabilities.

Fitted on the profile's labeled reference rows (the validation split, never training rows) by
isotonic regression and kept as plain numbers, so that the stream reloads it from JSON without
pickle or scikit-learn.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from centinela.exceptions import ProfileError

log = logging.getLogger(__name__)

CalibrationTarget = Literal["positive_class", "top_class"]


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a raw probability to a calibrated one: isotonic regression fitted on
    the reference rows, kept as its knots ``x`` (increasing) and values ``y`` and applied by
    linear interpolation, clipped at both ends (exactly scikit-learn's ``IsotonicRegression``
    with ``out_of_bounds="clip"``), so it reloads from JSON without pickle or scikit-learn.

    ``target`` says what it calibrates: ``positive_class`` (binary: the probability of
    ``classes[1]`` to the label being ``classes[1]``) or ``top_class`` (the probability of the
    predicted class to the prediction being right). ``rows``: how many rows it was fitted on.

    >>> calibration = Calibration("top_class", x=(0.5, 0.9), y=(0.6, 0.8), rows=10)
    >>> calibration.apply(np.array([0.4, 0.7, 1.0])).round(3).tolist()
    [0.6, 0.7, 0.8]
    """

    target: CalibrationTarget
    x: tuple[float, ...]
    y: tuple[float, ...]
    rows: int
    method: Literal["isotonic"] = "isotonic"

    def __post_init__(self) -> None:
        if self.target not in ("positive_class", "top_class"):
            raise ProfileError(f"unknown calibration target {self.target!r}")
        if self.method != "isotonic":
            raise ProfileError(f"unknown calibration method {self.method!r}")
        x, y = np.asarray(self.x, dtype=np.float64), np.asarray(self.y, dtype=np.float64)
        if x.size == 0 or x.size != y.size:
            raise ProfileError("a calibration needs as many values as knots, at least one")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ProfileError("a calibration's knots and values must be finite")
        if np.any(np.diff(x) < 0) or np.any(np.diff(y) < 0):
            raise ProfileError("a calibration's knots and values must be non-decreasing")
        if y[0] < 0.0 or y[-1] > 1.0:
            raise ProfileError("a calibration's values must be probabilities")

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (float64) of raw ones."""
        return np.interp(np.asarray(probabilities, dtype=np.float64), self.x, self.y)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "target": self.target,
            "x": list(self.x),
            "y": list(self.y),
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(
            target=data["target"],
            x=tuple(float(v) for v in data["x"]),
            y=tuple(float(v) for v in data["y"]),
            rows=int(data["rows"]),
            method=data.get("method", "isotonic"),
        )


def fit_calibration(
    labels: Sequence[Any] | np.ndarray,
    predicted: Sequence[Any] | np.ndarray,
    probabilities: np.ndarray,
    classes: Sequence[Any],
) -> Calibration | None:
    """Isotonic calibration of the model's probabilities on labeled rows (see
    :class:`Calibration`): binary, the positive class (``classes[1]``) probability to the label
    being that class; multiclass, the predicted class's probability to the prediction being
    right. None when there are no rows or the probabilities are not finite."""
    from sklearn.isotonic import IsotonicRegression  # the trainer side only, as for metrics

    class_list = [plain_value(c) for c in classes]
    proba = np.asarray(probabilities, dtype=np.float64)
    y_true = [plain_value(v) for v in labels]
    y_pred = [plain_value(v) for v in predicted]
    n = len(y_true)
    if n == 0 or proba.shape != (n, len(class_list)) or len(y_pred) != n:
        return None
    if not np.all(np.isfinite(proba)):
        log.warning("probabilities are not all finite: the profile gets no calibration")
        return None
    position = {str(c): i for i, c in enumerate(class_list)}
    target: CalibrationTarget
    if len(class_list) == 2:
        target = "positive_class"
        score = proba[:, 1]
        hit = np.fromiter((t == class_list[1] for t in y_true), dtype=bool, count=n)
    else:
        target = "top_class"
        chosen = np.fromiter((position[str(p)] for p in y_pred), dtype=np.int64, count=n)
        score = proba[np.arange(n), chosen]
        hit = np.fromiter(
            (t == p for t, p in zip(y_true, y_pred, strict=True)), dtype=bool, count=n
        )
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
        score, hit.astype(np.float64)
    )
    return Calibration(
        target=target,
        x=tuple(float(v) for v in fitted.X_thresholds_),
        y=tuple(float(v) for v in fitted.y_thresholds_),
        rows=n,
    )


def plain_value(value: Any) -> Any:
    """numpy scalars to plain Python (JSON) values; bools to ints."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    return value
