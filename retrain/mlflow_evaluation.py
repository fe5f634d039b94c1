"""MLflow's own evaluation of a challenger against its champion, and the promotion gate.

``mlflow.models.evaluate`` (its default classifier evaluator) scores both models on the same
comparison rows of the hold-out: the challenger into its retrain run (metrics such as
``accuracy_score``, ``f1_score``, ``precision_score``, ``recall_score``, and the confusion
matrix and per-class tables as artifacts), the champion into a nested run of it
(``champion-on-holdout``), so the two sit side by side in the MLflow UI. The promotion gate is
an MLflow ``MetricThreshold`` on ``f1_score``: the challenger must beat the champion by at least
``CENTINELA_AUTO_PROMOTE_MIN_IMPROVEMENT``; ``mlflow.validate_evaluation_results`` gives the
verdict and its reason. Automatic promotion (off by default) follows that verdict.

What Centinela keeps of its own (:mod:`retrain.evaluation`) is what MLflow does not do: the
split of the hold-out into comparison and baseline rows, the metrics the stream's drift reports
use (with probabilities: log loss, ROC AUC), and the baseline and calibration the stream's
tests need.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import MetricThreshold

from retrain.data import TrainingData

log = logging.getLogger(__name__)

GATE_METRIC = "f1_score"
LABEL_COLUMN = "__label__"  # not a feature name: features never start with an underscore
CHAMPION_RUN = "champion-on-holdout"
# SHAP is not installed, nor needed; a multiclass F1 is the macro mean, as in the drift reports
# (MLflow's default weights the classes by their support).
EVALUATOR_CONFIG = {"default": {"log_model_explainability": False, "average": "macro"}}


@dataclass(frozen=True)
class GateVerdict:
    """Whether the challenger passed MLflow's promotion gate, and MLflow's reason."""

    passed: bool
    reason: str


def promotion_thresholds(min_improvement: float) -> dict[str, MetricThreshold]:
    """The gate: ``f1_score`` at least ``min_improvement`` above the champion's."""
    return {
        GATE_METRIC: MetricThreshold(min_absolute_change=min_improvement, greater_is_better=True)
    }


def evaluate_and_gate(
    tracking_uri: str,
    run_id: str,
    challenger: Any,
    champion: Any,
    compared: TrainingData,
    *,
    champion_columns: list[str],
    min_improvement: float,
) -> GateVerdict:
    """Evaluate both models with MLflow into ``run_id`` (champion nested) and judge the gate."""
    thresholds = promotion_thresholds(min_improvement)
    # evaluate() logs through MLflow's fluent API, whose store is one per process.
    mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run(run_id=run_id) as parent:
        candidate = _evaluate(challenger, compared, list(compared.features.columns))
        experiment = parent.info.experiment_id  # else the nested run lands in the default one
        with mlflow.start_run(run_name=CHAMPION_RUN, nested=True, experiment_id=experiment):
            baseline = _evaluate(champion, compared, champion_columns)
    try:
        mlflow.validate_evaluation_results(thresholds, candidate, baseline)
    except MlflowException as failed:  # ModelValidationFailedException: the gate said no
        return GateVerdict(False, _one_line(str(failed)))
    gain = candidate.metrics[GATE_METRIC] - baseline.metrics[GATE_METRIC]
    return GateVerdict(
        True,
        f"MLflow's gate passed: {GATE_METRIC} {candidate.metrics[GATE_METRIC]:.4f} vs "
        f"{baseline.metrics[GATE_METRIC]:.4f} ({gain:+.4f}, minimum {min_improvement:+.4f})",
    )


def _evaluate(model: Any, rows: TrainingData, columns: list[str]) -> Any:
    frame = rows.features.loc[:, columns].assign(**{LABEL_COLUMN: rows.labels})

    def predict(features: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict(features.loc[:, columns]))

    with warnings.catch_warnings():  # MLflow's hint on inferring a schema of integer columns
        warnings.simplefilter("ignore", UserWarning)
        return mlflow.models.evaluate(
            model=predict,
            data=frame,
            targets=LABEL_COLUMN,
            model_type="classifier",
            evaluators=["default"],
            evaluator_config=EVALUATOR_CONFIG,
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())
