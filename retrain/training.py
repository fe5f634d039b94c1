"""Training a challenger with the champion's recipe, and its reference profile.

The recipe is the champion's trainer name and parameters, as the registry stored them with the
champion (version tags), else as its run logged them (run parameters); a champion without a
readable recipe is refused rather than silently retrained with something else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from centinela.models import trainers
from centinela.models.profile import ReferenceProfile
from centinela.models.publishing import profile_model
from centinela.models.registry import LoadedModel
from retrain.catalog import Catalog
from retrain.data import TrainingData
from retrain.evaluation import Baseline
from retrain.exceptions import RetrainError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """How the champion was trained: a named trainer and its parameters."""

    trainer: str
    params: dict[str, Any]


def champion_recipe(champion: LoadedModel, catalog: Catalog) -> Recipe:
    """The champion's trainer and parameters (version tags first, then run parameters)."""
    if champion.trainer:
        return Recipe(champion.trainer, dict(champion.params))
    params = catalog.run_params(champion.run_id)
    trainer = params.pop("trainer", None)
    if not isinstance(trainer, str) or trainer not in trainers.available_trainers():
        raise RetrainError(
            f"champion version {champion.version} does not say how it was trained (no trainer "
            f"tag or run parameter; found {trainer!r}); available trainers: "
            f"{', '.join(trainers.available_trainers())}"
        )
    return Recipe(trainer, params)


def fit(recipe: Recipe, data: TrainingData) -> Any:
    """The fitted pipeline (:func:`centinela.models.trainers.train`); TrainerError passes
    through."""
    log.info(
        "training %s on %d rows x %d features", recipe.trainer, len(data), data.features.shape[1]
    )
    return trainers.train(recipe.trainer, recipe.params, data.features, list(data.labels))


def mix_champion_data(
    new: TrainingData, old: TrainingData | None, share: float, *, seed: int = 0
) -> TrainingData:
    """Add rows of the champion's training data so they make up ``share`` of the result.

    The champion's rows never reach the hold-out: they are added to the training part only.

    >>> import numpy as np, pandas as pd
    >>> def rows(n, tag):
    ...     return TrainingData(pd.DataFrame({"x": np.arange(n, dtype=float)}),
    ...                         np.zeros(n, dtype=int), np.zeros(n, dtype="datetime64[ns]"),
    ...                         np.asarray([f"{tag}{i}" for i in range(n)], dtype=object), tag)
    >>> len(mix_champion_data(rows(75, "new"), rows(100, "old"), 0.25))
    100
    """
    if old is None or share <= 0 or len(old) == 0:
        return new
    wanted = len(old) if share >= 1 else round(share / (1 - share) * len(new))
    take = min(wanted, len(old))
    if take == 0:
        return new
    rows = np.sort(np.random.default_rng(seed).choice(len(old), size=take, replace=False))
    extra = old.take(rows)
    log.info("mixing %d rows of the champion's training data into %d new rows", take, len(new))
    return TrainingData(
        features=pd.concat([new.features, extra.features], ignore_index=True),
        labels=np.concatenate([new.labels, extra.labels]),
        event_times=np.concatenate([new.event_times, extra.event_times]),
        event_ids=np.concatenate([new.event_ids, extra.event_ids]),
        source=f"{new.source} + {take} rows of {old.source}",
        n_records=new.n_records,
        n_duplicates=new.n_duplicates,
        n_malformed=new.n_malformed,
    )


def challenger_profile(
    model: Any,
    reference: TrainingData,
    baseline: Baseline,
    *,
    sample_size: int,
) -> ReferenceProfile:
    """The profile the stream will watch the challenger with.

    The reference distribution is the data the challenger learned from; the baseline metrics
    and counts are measured on the hold-out's baseline part (validation data, as for every
    profile: docs/architecture.md, "Drift methodology"), neither its fit on training data nor
    the comparison rows it was selected on (:func:`retrain.evaluation.split_baseline`), and so
    is the calibration of its probabilities. An empty baseline part leaves the profile without
    a baseline (no performance-drop test) and without a calibration (an uncalibrated estimate).
    """
    profile = profile_model(model, reference.features, sample_size=sample_size)
    if baseline.rows == 0:
        log.warning("no hold-out rows left for the challenger's baseline; it gets none")
        return replace(
            profile,
            baseline_metrics={},
            baseline_rows=None,
            baseline_errors=None,
            calibration=None,
        )
    return replace(
        profile,
        baseline_metrics=dict(baseline.metrics),
        baseline_rows=baseline.rows,
        baseline_errors=baseline.errors,
        calibration=baseline.calibration,
    )
