"""The one path from labeled rows to a registered version: train, profile, log and register.

``centinela bootstrap``, the tests and the benchmarks register their models through
:func:`train_and_register` (or :func:`fit_and_profile` then :func:`register`, to keep the
metrics); the retrain worker trains its challenger its own way (the profile's reference is the
data the challenger learned from, its baseline the hold-out metrics, and it is compared with
the champion before it is registered), profiles it with :func:`profile_model` and registers
it through the same :func:`~centinela.models.registry.log_model_version`.

The reference profile is built on the reference rows (by default the training rows) with the
model's own predictions and probabilities, so its baseline metrics are the model's metrics on
those rows, and its calibration (for the estimate of performance before labels) is fitted
on them; pass a validation split as ``reference`` for honest baselines and calibration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from centinela.contract.settings import Settings
from centinela.models.profile import ReferenceProfile, build_profile
from centinela.models.registry import RegisteredModel, log_model_version
from centinela.models.trainers import train


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model with the profile the stream will watch it with, ready to register."""

    model: Any
    profile: ReferenceProfile
    trainer: str
    params: dict[str, Any]
    metrics: dict[str, float]


def profile_model(
    model: Any,
    features: pd.DataFrame,
    labels: Sequence[Any] | np.ndarray | None = None,
    *,
    sample_size: int | None = None,
    seed: int = 0,
) -> ReferenceProfile:
    """The reference profile of a fitted classifier on ``features``: its predictions (the most
    probable class) and probabilities, and given ``labels``, its baseline metrics on them."""
    probabilities = np.asarray(model.predict_proba(features), dtype=np.float64)
    classes = [c.item() if isinstance(c, np.generic) else c for c in model.classes_]
    predicted = np.asarray(model.classes_)[probabilities.argmax(axis=1)]
    sizing: dict[str, Any] = {} if sample_size is None else {"sample_size": sample_size}
    return build_profile(
        features,
        predicted,
        classes=classes,
        labels=labels,
        probabilities=probabilities,
        seed=seed,
        **sizing,
    )


def fit_and_profile(
    trainer: str,
    params: dict[str, Any],
    features: pd.DataFrame,
    labels: Sequence[Any] | np.ndarray,
    *,
    reference: tuple[pd.DataFrame, Sequence[Any] | np.ndarray] | None = None,
    sample_size: int | None = None,
    seed: int = 0,
) -> TrainedModel:
    """Train the named trainer and build its reference profile on ``reference`` (default: the
    training rows). Metrics: the profile's baseline as ``val_*`` and ``train_accuracy``."""
    model = train(trainer, params, features, labels)
    ref_features, ref_labels = reference if reference is not None else (features, labels)
    profile = profile_model(model, ref_features, ref_labels, sample_size=sample_size, seed=seed)
    metrics = {f"val_{name}": value for name, value in profile.baseline_metrics.items()}
    metrics["train_accuracy"] = float((model.predict(features) == np.asarray(labels)).mean())
    return TrainedModel(model, profile, trainer, dict(params), metrics)


def register(
    settings: Settings,
    trained: TrainedModel,
    *,
    train_frame: pd.DataFrame,
    labels: Sequence[Any] | np.ndarray,
    tags: dict[str, str],
    run_name: str,
    experiment: str | None = None,
    alias: str | None = None,
) -> RegisteredModel:
    """Log the trained model with its profile in one MLflow run; register it; set ``alias``."""
    return log_model_version(
        settings,
        trained.model,
        profile=trained.profile,
        trainer=trained.trainer,
        params=trained.params,
        metrics=trained.metrics,
        train_frame=train_frame,
        labels=labels,
        tags=tags,
        run_name=run_name,
        experiment=experiment or settings.training_experiment,
        alias=alias,
    )


def train_and_register(
    settings: Settings,
    trainer: str,
    params: dict[str, Any],
    features: pd.DataFrame,
    labels: Sequence[Any] | np.ndarray,
    *,
    tags: dict[str, str],
    run_name: str,
    alias: str | None,
    reference: tuple[pd.DataFrame, Sequence[Any] | np.ndarray] | None = None,
    experiment: str | None = None,
    sample_size: int | None = None,
    seed: int = 0,
) -> RegisteredModel:
    """:func:`fit_and_profile`, then :func:`register` on the training rows."""
    trained = fit_and_profile(
        trainer,
        params,
        features,
        labels,
        reference=reference,
        sample_size=sample_size,
        seed=seed,
    )
    return register(
        settings,
        trained,
        train_frame=features,
        labels=labels,
        tags=tags,
        run_name=run_name,
        experiment=experiment,
        alias=alias,
    )
