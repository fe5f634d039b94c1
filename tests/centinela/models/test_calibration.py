"""The calibration a profile holds for the estimate of performance before labels: fitted on the
reference rows, plain JSON numbers, equal to scikit-learn's isotonic regression, and optional
(an older profile reads without one)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression

from centinela.exceptions import ProfileError
from centinela.models.profile import Calibration, ReferenceProfile, build_profile


def _binary(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """An overconfident binary model: its positive-class probability is sigmoid(3 * logit)
    while the labels follow sigmoid(logit)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n), "colour": rng.choice(["a", "b"], size=n)})
    logit = 1.5 * frame["x"].to_numpy()
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    p1 = 1 / (1 + np.exp(-3 * logit))
    proba = np.column_stack([1 - p1, p1])
    return frame, labels, proba, proba.argmax(axis=1)


def test_a_binary_calibration_round_trips_as_plain_numbers_and_equals_isotonic() -> None:
    frame, labels, proba, predicted = _binary(3000, seed=1)
    profile = build_profile(
        frame, predicted, classes=[0, 1], labels=labels, probabilities=proba, sample_size=100
    )
    calibration = profile.calibration
    assert calibration is not None
    assert (calibration.target, calibration.method, calibration.rows) == (
        "positive_class",
        "isotonic",
        3000,
    )
    data = json.loads(profile.to_json())
    stored = data["calibration"]
    assert set(stored) == {"method", "target", "x", "y", "rows"}
    assert all(isinstance(v, float) for v in stored["x"] + stored["y"])
    back = ReferenceProfile.from_json(profile.to_json())
    assert back == profile and back.calibration == calibration
    # The knots reproduce scikit-learn's fitted map exactly, inside and outside the range.
    reference = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    reference.fit(proba[:, 1], labels.astype(float))
    probe = np.linspace(-0.2, 1.2, 1001)
    assert np.array_equal(back.calibration.apply(probe), reference.predict(probe))
    # Isotonic regression keeps the mean: on its own rows the calibrated probabilities sum to
    # the positives, so the estimate there is the realised accuracy.
    assert calibration.apply(proba[:, 1]).sum() == pytest.approx(labels.sum(), abs=1e-6)


def test_a_multiclass_calibration_is_of_the_top_class_probability_to_being_right() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    classes = ["lo", "mid", "hi"]
    proba = rng.dirichlet([1.0, 1.0, 1.0], size=n)
    top = proba.argmax(axis=1)
    right = rng.random(n) < proba[np.arange(n), top] ** 2  # overconfident
    other = (top + 1 + (rng.random(n) < 0.5)) % 3
    labels = np.asarray(classes, dtype=object)[np.where(right, top, other)]
    predicted = np.asarray(classes, dtype=object)[top]
    frame = pd.DataFrame({"x": rng.normal(size=n)})
    profile = build_profile(
        frame, predicted, classes=classes, labels=labels, probabilities=proba, sample_size=100
    )
    calibration = profile.calibration
    assert calibration is not None and calibration.target == "top_class"
    expected = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
        proba[np.arange(n), top], right.astype(float)
    )
    assert calibration.x == tuple(expected.X_thresholds_.tolist())
    assert calibration.y == tuple(expected.y_thresholds_.tolist())
    assert ReferenceProfile.from_json(profile.to_json()).calibration == calibration


def test_an_old_profile_reads_without_calibration_and_none_is_fitted_without_probabilities() -> (
    None
):
    frame, labels, proba, predicted = _binary(500, seed=3)
    with_it = build_profile(
        frame, predicted, classes=[0, 1], labels=labels, probabilities=proba, sample_size=50
    )
    data = json.loads(with_it.to_json())
    del data["calibration"]  # as written before calibration existed
    old = ReferenceProfile.from_json(json.dumps(data))
    assert old.calibration is None
    assert old.baseline_metrics == with_it.baseline_metrics
    no_proba = build_profile(frame, predicted, classes=[0, 1], labels=labels, sample_size=50)
    no_labels = build_profile(frame, predicted, classes=[0, 1], probabilities=proba)
    assert no_proba.calibration is None and no_labels.calibration is None
    assert json.loads(no_proba.to_json())["calibration"] is None


@pytest.mark.parametrize(
    ("target", "x", "y", "match"),
    [
        ("per_class", (0.5,), (0.5,), "unknown calibration target"),
        ("top_class", (), (), "at least one"),
        ("top_class", (0.5, 0.7), (0.5,), "as many values"),
        ("top_class", (0.7, 0.5), (0.5, 0.6), "non-decreasing"),
        ("top_class", (0.5, 0.7), (0.6, 0.5), "non-decreasing"),
        ("top_class", (0.5, 0.7), (0.5, 1.5), "probabilities"),
        ("top_class", (0.5, float("nan")), (0.5, 0.6), "finite"),
    ],
)
def test_a_malformed_calibration_is_refused(
    target: str, x: tuple[float, ...], y: tuple[float, ...], match: str
) -> None:
    with pytest.raises(ProfileError, match=match):
        Calibration(target, x=x, y=y, rows=1)  # type: ignore[arg-type]
