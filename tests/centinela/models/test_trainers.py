"""The named trainers: each fits mixed numeric/categorical data; bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from centinela.exceptions import CentinelaError, TrainerError
from centinela.models.trainers import DEFAULT_TRAINER, available_trainers, default_params, train


def _frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    colour = rng.choice(["red", "green"], size=n)
    labels = ((x[:, 0] + (colour == "red")) > 0.5).astype(int)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(colour=colour)
    return frame, labels


def test_the_default_trainer_is_available() -> None:
    assert DEFAULT_TRAINER in available_trainers()
    assert {"logistic_regression", "random_forest", "hist_gradient_boosting"} <= set(
        available_trainers()
    )


@pytest.mark.parametrize("name", available_trainers())
def test_every_trainer_learns_and_scores_in_one_vectorised_call(name: str) -> None:
    frame, labels = _frame()
    model = train(name, {}, frame, labels)
    probabilities = model.predict_proba(frame)
    assert probabilities.shape == (len(frame), 2)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (model.predict(frame) == labels).mean() > 0.8


def test_unknown_categories_are_ignored_when_scoring() -> None:
    frame, labels = _frame()
    model = train(DEFAULT_TRAINER, {}, frame, labels)
    unseen = frame.head(5).assign(colour="purple")
    assert model.predict_proba(unseen).shape == (5, 2)


def test_caller_params_override_the_defaults() -> None:
    frame, labels = _frame()
    model = train("logistic_regression", {"C": 0.01}, frame, labels)
    assert model.named_steps["estimator"].C == 0.01
    assert default_params("logistic_regression")["C"] == 1.0


def test_unknown_trainer_and_bad_params_raise_trainer_errors() -> None:
    frame, labels = _frame()
    with pytest.raises(TrainerError, match="unknown trainer 'nope'"):
        train("nope", {}, frame, labels)
    with pytest.raises(TrainerError, match="rejects its parameters"):
        train("logistic_regression", {"not_a_param": 1}, frame, labels)
    with pytest.raises(TrainerError, match="single class"):
        train("logistic_regression", {}, frame, np.zeros(len(frame)))
    assert issubclass(TrainerError, CentinelaError)
