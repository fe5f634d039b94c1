"""fit_and_profile: the model, its profile on the reference rows and its metrics (no MLflow)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from centinela.exceptions import TrainerError
from centinela.models.publishing import fit_and_profile, profile_model

METRIC_KEYS = {"val_accuracy", "val_f1", "val_log_loss", "val_roc_auc", "train_accuracy"}


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    colour = rng.choice(["red", "green", "blue"], size=n)
    noise = rng.normal(0.0, 0.7, size=n)
    labels = ((x[:, 0] + 0.5 * x[:, 1] + (colour == "red") + noise) > 0.5).astype(int)
    return pd.DataFrame(x, columns=["a", "b", "c"]).assign(colour=colour), labels


def _accuracy(model: Any, features: pd.DataFrame, labels: np.ndarray) -> float:
    """By hand: the most probable class against the label, row by row."""
    probabilities = model.predict_proba(features)
    predicted = np.asarray(model.classes_)[probabilities.argmax(axis=1)]
    hits = sum(int(p == y) for p, y in zip(predicted.tolist(), labels.tolist(), strict=True))
    return hits / len(labels)


def test_the_profile_is_built_on_the_reference_rows_with_val_metrics_there() -> None:
    train_x, train_y = _frame(800, seed=1)
    valid_x, valid_y = _frame(300, seed=2)
    trained = fit_and_profile(
        "logistic_regression",
        {"C": 0.5},
        train_x,
        train_y,
        reference=(valid_x, valid_y),
        sample_size=200,
        seed=7,
    )
    assert (trained.trainer, trained.params) == ("logistic_regression", {"C": 0.5})
    profile = trained.profile
    assert profile.classes == (0, 1)
    assert all(type(c) is int for c in profile.classes)  # plain values, not numpy scalars
    assert profile.n_rows == 300
    assert profile.feature_names == ("a", "b", "c", "colour")
    assert profile.numeric_names == ("a", "b", "c")
    assert {len(values) for values in profile.reference_sample.values()} == {200}
    assert sum(profile.prediction_counts.values()) == 300

    assert set(trained.metrics) == METRIC_KEYS
    assert trained.metrics == {
        **{f"val_{name}": value for name, value in profile.baseline_metrics.items()},
        "train_accuracy": trained.metrics["train_accuracy"],
    }
    val_accuracy = _accuracy(trained.model, valid_x, valid_y)
    assert 0.6 < val_accuracy < 1.0  # a real, imperfect score: the check below means something
    assert trained.metrics["val_accuracy"] == val_accuracy
    assert trained.metrics["train_accuracy"] == _accuracy(trained.model, train_x, train_y)
    assert trained.metrics["val_accuracy"] != trained.metrics["train_accuracy"]


def test_without_a_reference_the_training_rows_are_profiled_whole() -> None:
    features, labels = _frame(500, seed=3)
    trained = fit_and_profile("logistic_regression", {}, features, labels)
    assert trained.profile.n_rows == 500
    assert {len(values) for values in trained.profile.reference_sample.values()} == {500}
    assert trained.metrics["val_accuracy"] == _accuracy(trained.model, features, labels)
    assert trained.metrics["val_accuracy"] == trained.metrics["train_accuracy"]


def test_string_classes_come_out_plain_and_profiles_are_reproducible() -> None:
    features, numbers = _frame(400, seed=4)
    labels = np.where(numbers == 1, "yes", "no")
    first = fit_and_profile("logistic_regression", {}, features, labels, sample_size=100, seed=5)
    again = fit_and_profile("logistic_regression", {}, features, labels, sample_size=100, seed=5)
    assert first.profile.classes == ("no", "yes")
    assert all(type(c) is str for c in first.profile.classes)
    assert first.profile.to_json() == again.profile.to_json()
    assert first.metrics == again.metrics


def test_profile_model_without_labels_has_no_baseline() -> None:
    features, labels = _frame(400, seed=6)
    trained = fit_and_profile("logistic_regression", {}, features, labels)
    unlabeled = profile_model(trained.model, features)
    assert unlabeled.baseline_metrics == {}
    assert unlabeled.prediction_counts == trained.profile.prediction_counts
    assert unlabeled.n_rows == 400


def test_an_unknown_trainer_fails_before_anything_is_profiled() -> None:
    features, labels = _frame(50, seed=8)
    with pytest.raises(TrainerError):
        fit_and_profile("no_such_trainer", {}, features, labels)
