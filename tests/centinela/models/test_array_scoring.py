"""A trainer's pipeline applied to arrays gives what it gives on the DataFrame, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from centinela.models.array_scoring import array_scorer
from centinela.models.profile import ReferenceProfile, build_profile
from centinela.models.registry import LoadedModel
from centinela.models.trainers import available_trainers, build_pipeline, train

NUMERIC = ("x0", "x1", "x2")
CATEGORICAL = ("colour", "size")


def features(n: int, seed: int, *, unseen: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colours = ["red", "green", "blue"] + (["mauve"] if unseen else [])
    sizes = ["s", "m", "l", "xl"] + (["xxs"] if unseen else [])
    return pd.DataFrame(
        {
            "x0": rng.normal(0.0, 1.0, n),
            "colour": rng.choice(colours, n),
            "x1": rng.normal(5.0, 3.0, n),
            "size": rng.choice(sizes, n),
            "x2": rng.exponential(2.0, n),
        }
    )


def labels_of(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["x0"] + (frame["colour"] == "red") - frame["x2"] / 3) > 0).astype(int).to_numpy()


def arrays_of(
    frame: pd.DataFrame, numeric_names: tuple[str, ...]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    numeric = frame.loc[:, list(numeric_names)].to_numpy(dtype=np.float64)
    categorical = {name: frame[name].to_numpy(dtype=object) for name in CATEGORICAL}
    return numeric, categorical


@pytest.mark.parametrize("trainer", available_trainers())
def test_every_trainer_scores_the_same_from_arrays_as_from_its_frame(trainer):
    training = features(600, seed=1)
    model = train(trainer, {}, training, labels_of(training))
    scorer = array_scorer(model, NUMERIC, CATEGORICAL)
    assert scorer is not None
    batch = features(300, seed=2, unseen=True)  # categories never fitted: all-zero one-hot rows
    for order in (NUMERIC, ("x2", "x0", "x1")):  # the batch's matrix may come in any order
        numeric, categorical = arrays_of(batch, order)
        transformed = scorer.transform(numeric, order, categorical)
        assert np.array_equal(transformed, model.named_steps["preprocess"].transform(batch))
        probabilities = scorer.predict_proba(numeric, order, categorical)
        assert np.array_equal(probabilities, model.predict_proba(batch))
        assert np.array_equal(numeric, arrays_of(batch, order)[0])  # the input is untouched


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_a_logistic_regression_is_scored_by_its_arithmetic_bit_for_bit(n_classes):
    training = features(600, seed=8)
    y = np.digitize(training["x0"] - training["x2"] / 3, np.linspace(-2, 1, n_classes - 1))
    model = train("logistic_regression", {}, training, y)
    scorer = array_scorer(model, NUMERIC, CATEGORICAL)
    assert scorer is not None and scorer.arithmetic is not None
    assert scorer.arithmetic.binary is (n_classes == 2)
    for rows in (1, 7, 300):
        batch = features(rows, seed=9 + rows, unseen=True)
        numeric, categorical = arrays_of(batch, NUMERIC)
        probabilities = scorer.predict_proba(numeric, NUMERIC, categorical)
        assert probabilities.shape == (rows, n_classes)
        assert np.array_equal(probabilities, model.predict_proba(batch))


def test_an_estimator_whose_arithmetic_differs_keeps_its_own_predict_proba(monkeypatch):
    training = features(300, seed=10)
    model = train("logistic_regression", {}, training, labels_of(training))
    estimator = model.named_steps["estimator"]
    honest = estimator.predict_proba
    # As another scikit-learn might: the same probabilities, rounded differently.
    monkeypatch.setattr(estimator, "predict_proba", lambda x: np.nextafter(honest(x), 2.0))
    scorer = array_scorer(model, NUMERIC, CATEGORICAL)
    assert scorer is not None and scorer.arithmetic is None
    batch = features(20, seed=11)
    numeric, categorical = arrays_of(batch, NUMERIC)
    assert np.array_equal(
        scorer.predict_proba(numeric, NUMERIC, categorical), model.predict_proba(batch)
    )


def test_a_loaded_model_predicts_the_same_classes_from_arrays():
    training = features(600, seed=3)
    model = train("logistic_regression", {}, training, labels_of(training))
    loaded = LoadedModel("m", "1", "run", model, profile_of(model, training), "lr")
    batch = features(200, seed=4, unseen=True)
    direct = loaded.predict_arrays(*arrays_of_profile(batch, loaded))
    assert direct is not None
    classes, probabilities = loaded.predict(batch)
    assert np.array_equal(direct[0], classes)
    assert probabilities is not None
    assert np.array_equal(direct[1], probabilities)


def test_numeric_only_and_categorical_only_pipelines_have_array_scorers():
    numeric_only = features(400, seed=5).drop(columns=list(CATEGORICAL))
    model = train("logistic_regression", {}, numeric_only, labels_of(features(400, seed=5)))
    scorer = array_scorer(model, NUMERIC, ())
    assert scorer is not None
    matrix = numeric_only.to_numpy()
    assert np.array_equal(
        scorer.predict_proba(matrix, NUMERIC, {}), model.predict_proba(numeric_only)
    )
    text_only = features(400, seed=6).loc[:, list(CATEGORICAL)]
    model = train("logistic_regression", {}, text_only, labels_of(features(400, seed=6)))
    scorer = array_scorer(model, (), CATEGORICAL)
    assert scorer is not None
    categorical = {name: text_only[name].to_numpy(dtype=object) for name in CATEGORICAL}
    empty = np.empty((len(text_only), 0))
    assert np.array_equal(
        scorer.predict_proba(empty, (), categorical), model.predict_proba(text_only)
    )


def test_other_shapes_and_other_features_are_scored_through_their_frame():
    training = features(400, seed=7)
    y = labels_of(training)
    model = train("logistic_regression", {}, training, y)
    assert array_scorer(model, (*NUMERIC, "x3"), CATEGORICAL) is None  # reads other features
    assert array_scorer(model, NUMERIC, ("colour",)) is None
    assert array_scorer(model.named_steps["estimator"], NUMERIC, CATEGORICAL) is None
    assert array_scorer(LogisticRegression().fit(training[list(NUMERIC)], y), NUMERIC, ()) is None
    dropping = build_pipeline("logistic_regression", {}, training)
    dropping.set_params(preprocess__categorical__drop="first").fit(training, y)
    assert array_scorer(dropping, NUMERIC, CATEGORICAL) is None
    sparse = build_pipeline("logistic_regression", {}, training)
    sparse.set_params(preprocess__categorical__sparse_output=True).fit(training, y)
    assert array_scorer(sparse, NUMERIC, CATEGORICAL) is None
    framed = build_pipeline("logistic_regression", {}, training)
    framed.named_steps["preprocess"].set_output(transform="pandas")
    framed.fit(training, y)
    assert array_scorer(framed, NUMERIC, CATEGORICAL) is None


def profile_of(model: Any, frame: pd.DataFrame) -> ReferenceProfile:
    return build_profile(frame, model.predict(frame), classes=list(model.classes_))


def arrays_of_profile(
    batch: pd.DataFrame, loaded: LoadedModel
) -> tuple[np.ndarray, tuple[str, ...], dict[str, np.ndarray]]:
    names = tuple(loaded.profile.numeric_names)
    numeric, categorical = arrays_of(batch, names)
    return numeric, names, categorical
