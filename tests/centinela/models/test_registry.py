"""The registry against a real MLflow SQLite store: log, register, alias, load back with profile."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from centinela.contract.settings import Settings
from centinela.exceptions import CentinelaError, ChampionMissingError, RegistryUnavailableError
from centinela.models.publishing import TrainedModel, fit_and_profile, register
from centinela.models.registry import (
    CHAMPION,
    alias_version,
    client,
    ensure_experiment,
    load_model,
)
from centinela.stack.process import free_port

pytestmark = pytest.mark.integration


def _data(n: int = 600) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"x{i}" for i in range(4)])
    labels = (frame["x0"] - frame["x1"] > 0).astype(int).to_numpy()
    return frame, labels


def _register(
    settings: Settings, alias: str | None, run_name: str = "test"
) -> tuple[str, TrainedModel]:
    frame, labels = _data()
    trained = fit_and_profile("logistic_regression", {"C": 0.5}, frame, labels, sample_size=200)
    registered = register(
        settings,
        trained,
        train_frame=frame,
        labels=labels,
        tags={"centinela.source": "test"},
        run_name=run_name,
        alias=alias,
    )
    return registered.version, trained


def test_a_logged_version_loads_back_with_profile_trainer_and_params(
    make_settings: Callable[..., Settings], mlflow_store: str
) -> None:
    settings = make_settings(mlflow_tracking_uri=mlflow_store, model_name="reg-test")
    version, trained = _register(settings, alias=CHAMPION)
    assert alias_version(settings, CHAMPION) == version

    loaded = load_model(settings)
    assert (loaded.name, loaded.version) == ("reg-test", version)
    assert loaded.trainer == "logistic_regression"
    assert loaded.params == {"C": 0.5}
    assert loaded.profile.feature_names == trained.profile.feature_names
    assert loaded.profile.to_json() == trained.profile.to_json()
    run = client(settings).get_run(loaded.run_id)
    assert run.data.metrics == pytest.approx(trained.metrics)
    assert run.info.experiment_id == ensure_experiment(settings, settings.training_experiment)

    frame, labels = _data()
    shuffled = frame[list(reversed(frame.columns))]  # column order must not matter
    classes, probabilities = loaded.predict(shuffled)
    assert probabilities is not None and probabilities.shape == (len(frame), 2)
    assert (classes == labels).mean() > 0.95


def test_a_second_version_without_alias_leaves_the_champion_alone(
    make_settings: Callable[..., Settings], mlflow_store: str
) -> None:
    settings = make_settings(mlflow_tracking_uri=mlflow_store, model_name="reg-two")
    first, _ = _register(settings, alias=CHAMPION)
    second, _ = _register(settings, alias=None, run_name="second")
    assert second != first
    assert alias_version(settings, CHAMPION) == first
    assert load_model(settings, version=second).version == second


def test_missing_champion_and_unreachable_mlflow_are_clear_errors(
    make_settings: Callable[..., Settings], mlflow_store: str
) -> None:
    settings = make_settings(mlflow_tracking_uri=mlflow_store, model_name="reg-none")
    assert alias_version(settings, CHAMPION) is None
    with pytest.raises(ChampionMissingError, match="no alias @champion"):
        load_model(settings)

    down = make_settings(mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RegistryUnavailableError, match="does not answer"):
        load_model(down)
    assert issubclass(RegistryUnavailableError, CentinelaError)
