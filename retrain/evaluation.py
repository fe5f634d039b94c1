"""Challenger against champion on the same, most recent hold-out slice; the challenger's
baseline on rows of that slice the comparison did not see.

The hold-out is the latest ``retrain_holdout_share`` of the requested range by event time:
the data closest to what the model will see next. :func:`split_baseline` deals its rows, in
event-time order, alternately to a comparison part and a baseline part, so both span the same
recent period. Both models are scored on exactly the comparison rows with the metrics the
stream uses for its baseline (:func:`centinela.models.profile.baseline_metrics`), so figures
are comparable across the registry, the drift reports and this comparison. The challenger's
baseline for the stream's error-rate test (:func:`measure_baseline`: metrics, rows, errors) is
measured on the baseline rows only: the comparison is what a challenger is selected on (by a
person or by auto-promotion), and a baseline measured on the rows that selected it would be
biased in its favour, the performance-drop test then firing on a model that merely regressed to
its true accuracy. The calibration of its probabilities, which the stream's estimate of
performance before labels uses, is fitted on the same baseline rows, for the same reason and
because the training rows' probabilities are the overconfident ones.

>>> comparison = Comparison({"accuracy": 0.9, "log_loss": 0.30},
...                         {"accuracy": 0.8, "log_loss": 0.45}, n_holdout=1000)
>>> comparison.deltas()
{'accuracy': 0.1, 'log_loss': -0.15}
>>> comparison.improvement("log_loss") > 0
True
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from centinela.models.calibration import Calibration, fit_calibration
from centinela.models.profile import baseline_metrics, count_errors
from retrain.data import TrainingData

log = logging.getLogger(__name__)

METRIC_ORDER = ("accuracy", "f1", "roc_auc", "log_loss")
LOWER_IS_BETTER = frozenset({"log_loss"})
DECISION_METRIC = "f1"  # what auto-promotion and `compare` rank by


@dataclass(frozen=True)
class Comparison:
    """Metrics of both models on one hold-out, side by side."""

    challenger: dict[str, float]
    champion: dict[str, float]
    n_holdout: int
    challenger_version: str | None = None
    champion_version: str | None = None
    # MLflow's promotion gate (retrain.mlflow_evaluation): None until it was judged.
    gate_passed: bool | None = None
    gate_reason: str = ""

    def metrics(self) -> list[str]:
        """Metric names both models have, in a fixed reading order."""
        shared = set(self.challenger) & set(self.champion)
        return [name for name in METRIC_ORDER if name in shared] + sorted(
            shared - set(METRIC_ORDER)
        )

    def deltas(self) -> dict[str, float]:
        """Challenger minus champion, per metric (raw sign: lower log loss is a negative delta)."""
        return {
            name: round(self.challenger[name] - self.champion[name], 6) for name in self.metrics()
        }

    def improvement(self, metric: str = DECISION_METRIC) -> float:
        """How much better the challenger is on ``metric``; positive means better."""
        delta = self.challenger[metric] - self.champion[metric]
        return -delta if metric in LOWER_IS_BETTER else delta

    def as_metrics(self) -> dict[str, float]:
        """Flat MLflow metric names: ``challenger_f1``, ``champion_f1``, ``delta_f1`` ..."""
        flat: dict[str, float] = {"holdout_rows": float(self.n_holdout)}
        for name in self.metrics():
            flat[f"challenger_{name}"] = self.challenger[name]
            flat[f"champion_{name}"] = self.champion[name]
            flat[f"delta_{name}"] = self.deltas()[name]
        return flat

    def with_versions(self, challenger: str | None, champion: str | None) -> Comparison:
        return replace(self, challenger_version=challenger, champion_version=champion)

    def with_gate(self, passed: bool, reason: str) -> Comparison:
        return replace(self, gate_passed=passed, gate_reason=reason)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Comparison:
        data = json.loads(text)
        return cls(
            challenger={str(k): float(v) for k, v in data["challenger"].items()},
            champion={str(k): float(v) for k, v in data["champion"].items()},
            n_holdout=int(data["n_holdout"]),
            challenger_version=data.get("challenger_version"),
            champion_version=data.get("champion_version"),
            gate_passed=data.get("gate_passed"),
            gate_reason=data.get("gate_reason", ""),
        )


def split_holdout(data: TrainingData, share: float) -> tuple[TrainingData, TrainingData]:
    """The older ``1 - share`` to train on and the most recent ``share`` to evaluate on.

    Ties in event time are broken by event id, so the split does not depend on read order.
    """
    order = np.lexsort((data.event_ids.astype(str), data.event_times))
    n_holdout = max(1, round(len(order) * share))
    return data.take(order[:-n_holdout]), data.take(order[-n_holdout:])


def split_baseline(holdout: TrainingData) -> tuple[TrainingData, TrainingData]:
    """The hold-out's comparison part and baseline part: its rows in event-time order (ties by
    event id), dealt alternately, the first to the comparison (which gets the odd row).

    >>> import numpy as np, pandas as pd
    >>> rows = TrainingData(pd.DataFrame({"x": np.arange(5.0)}), np.zeros(5, dtype=int),
    ...                     np.arange(5).astype("datetime64[s]").astype("datetime64[ns]"),
    ...                     np.asarray([f"e{i}" for i in range(5)], dtype=object), "test")
    >>> compared, baseline = split_baseline(rows)
    >>> list(compared.event_ids), list(baseline.event_ids)
    (['e0', 'e2', 'e4'], ['e1', 'e3'])
    """
    order = np.lexsort((holdout.event_ids.astype(str), holdout.event_times))
    return holdout.take(order[0::2]), holdout.take(order[1::2])


@dataclass(frozen=True)
class Baseline:
    """A model's metrics on labeled rows it was neither trained nor selected on, with the
    counts the stream's error-rate test needs."""

    metrics: dict[str, float]
    rows: int
    errors: int
    calibration: Calibration | None = None  # of its probabilities on the same rows


def measure_baseline(model: Any, data: TrainingData) -> Baseline:
    """The baseline of a fitted classifier on ``data`` (:func:`score`, plus rows and errors)."""
    if len(data) == 0:
        return Baseline(metrics={}, rows=0, errors=0)
    predicted, probabilities = _predict(model, data.features)
    classes = tuple(_plain(value) for value in model.classes_)
    return Baseline(
        metrics=baseline_metrics(data.labels, predicted, probabilities, classes),
        rows=len(data),
        errors=count_errors(data.labels, predicted),
        calibration=None
        if probabilities is None
        else fit_calibration(data.labels, predicted, probabilities, classes),
    )


def score(model: Any, features: pd.DataFrame, labels: np.ndarray) -> dict[str, float]:
    """The baseline metrics of a fitted classifier (``predict_proba``) on ``features``."""
    classes = tuple(_plain(value) for value in model.classes_)
    predicted, probabilities = _predict(model, features)
    return baseline_metrics(labels, predicted, probabilities, classes)


def _predict(model: Any, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted classes (the most probable, as the stream scores) and probabilities."""
    if hasattr(model, "predict_proba"):
        probabilities = np.asarray(model.predict_proba(features), dtype=np.float64)
        return np.asarray(model.classes_)[probabilities.argmax(axis=1)], probabilities
    return np.asarray(model.predict(features)), None


def compare(
    challenger: Any, champion: Any, holdout: TrainingData, *, champion_columns: list[str]
) -> Comparison:
    """Score both models on the hold-out; each sees the columns in the order it was trained."""
    return Comparison(
        challenger=score(challenger, holdout.features, holdout.labels),
        champion=score(champion, holdout.features.loc[:, champion_columns], holdout.labels),
        n_holdout=len(holdout),
    )


def plot_comparison(comparison: Comparison, path: Path) -> Path:
    """A grouped bar chart of both models' hold-out metrics, deltas written above the bars."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a worker
    from matplotlib import pyplot as plt

    names = comparison.metrics()
    positions = np.arange(len(names))
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    try:
        width = 0.38
        champion = [comparison.champion[name] for name in names]
        challenger = [comparison.challenger[name] for name in names]
        axes.bar(positions - width / 2, champion, width, label=_label("champion", comparison))
        axes.bar(positions + width / 2, challenger, width, label=_label("challenger", comparison))
        for position, name in zip(positions, names, strict=True):
            top = max(comparison.champion[name], comparison.challenger[name])
            axes.annotate(
                f"{comparison.deltas()[name]:+.3f}", (position, top), ha="center", va="bottom"
            )
        axes.set_xticks(positions, [_axis_name(name) for name in names])
        axes.set_title(f"{comparison.n_holdout:,} of the most recent labeled examples (hold-out)")
        axes.legend(loc="lower right")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


def _label(role: str, comparison: Comparison) -> str:
    version = comparison.champion_version if role == "champion" else comparison.challenger_version
    return f"{role} v{version}" if version else role


def _axis_name(metric: str) -> str:
    return f"{metric}\n(lower is better)" if metric in LOWER_IS_BETTER else metric


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
