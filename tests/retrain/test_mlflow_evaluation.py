"""MLflow's evaluation of both models and its promotion gate, on a real MLflow store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression

from retrain.data import TrainingData
from retrain.mlflow_evaluation import CHAMPION_RUN, evaluate_and_gate


@pytest.fixture
def rows() -> TrainingData:
    rng = np.random.default_rng(0)
    features = pd.DataFrame(rng.normal(size=(1500, 4)), columns=["a", "b", "c", "d"])
    labels = (features.a + 0.5 * features.b > 0).astype(int).to_numpy()
    times = np.arange(1500).astype("datetime64[s]").astype("datetime64[ns]")
    ids = np.asarray([f"e{i}" for i in range(1500)], dtype=object)
    return TrainingData(features, labels, times, ids, "test")


def _run(store: str) -> tuple[MlflowClient, str]:
    client = MlflowClient(store, registry_uri=store)
    experiment = client.create_experiment("training")
    return client, client.create_run(experiment, run_name="retrain-r1").info.run_id


def test_a_better_challenger_passes_and_both_evaluations_are_logged(
    rows: TrainingData, mlflow_store: str
) -> None:
    client, run_id = _run(mlflow_store)
    challenger = LogisticRegression().fit(rows.features, rows.labels)
    champion = LogisticRegression().fit(rows.features[["c", "d"]], rows.labels)  # no signal

    verdict = evaluate_and_gate(
        mlflow_store,
        run_id,
        challenger,
        champion,
        rows,
        champion_columns=["c", "d"],
        min_improvement=0.01,
    )

    assert verdict.passed and verdict.reason.startswith("MLflow's gate passed: f1_score")
    run = client.get_run(run_id)
    [nested] = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    assert nested.info.run_name == CHAMPION_RUN
    assert run.data.metrics["f1_score"] > 0.95 > nested.data.metrics["f1_score"]
    assert run.data.metrics["example_count"] == len(rows)
    assert "confusion_matrix.png" in {a.path for a in client.list_artifacts(run_id)}


@pytest.mark.parametrize("min_improvement", [0.001, 0.01])
def test_a_challenger_no_better_than_the_champion_fails_with_mlflows_reason(
    rows: TrainingData, mlflow_store: str, min_improvement: float
) -> None:
    _, run_id = _run(mlflow_store)
    champion = LogisticRegression().fit(rows.features, rows.labels)
    shuffled = np.random.default_rng(1).permutation(rows.labels)
    challenger = LogisticRegression().fit(rows.features, shuffled)

    verdict = evaluate_and_gate(
        mlflow_store,
        run_id, challenger, champion, rows, champion_columns=list(rows.features.columns),
        min_improvement=min_improvement,
    )  # fmt: skip

    assert not verdict.passed
    assert "f1_score" in verdict.reason and "check failed" in verdict.reason
