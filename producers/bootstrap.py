"""Train and register the first champion on a scenario's pre-drift data.

One MLflow run holds the named trainer's parameters, metrics on a validation split, the
training dataset, signature and input example, and the reference profile (built on the
validation split, with the model's predictions and baseline metrics); the version is
registered and gets the alias ``champion``. If a champion already exists nothing happens
unless ``force`` is set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from centinela.contract.settings import Settings
from centinela.models.publishing import fit_and_profile, register
from centinela.models.registry import CHAMPION, alias_version
from centinela.models.trainers import DEFAULT_TRAINER, default_params
from producers.exceptions import ProducerError
from producers.scenario import Scenario, pre_drift_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BootstrapResult:
    created: bool
    model_name: str
    version: str
    run_id: str | None = None
    previous_version: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    train_rows: int = 0
    validation_rows: int = 0

    def summary(self) -> str:
        if not self.created:
            return (
                f"a champion exists: {self.model_name} version {self.version} is @{CHAMPION}; "
                "nothing done (pass --force to register a new version and move the alias)"
            )
        moved = f" (was version {self.previous_version})" if self.previous_version else ""
        scores = ", ".join(f"{k} {v:.3f}" for k, v in sorted(self.metrics.items()))
        return (
            f"registered {self.model_name} version {self.version} as @{CHAMPION}{moved}; "
            f"trained on {self.train_rows:,} rows, validated on {self.validation_rows:,}: "
            f"{scores}; MLflow run {self.run_id}"
        )


def bootstrap(
    settings: Settings,
    scenario: Scenario,
    *,
    trainer: str = DEFAULT_TRAINER,
    params: dict[str, Any] | None = None,
    rows: int = 40_000,
    validation_share: float = 0.25,
    seed: int = 0,
    force: bool = False,
) -> BootstrapResult:
    if not 0.0 < validation_share < 1.0:
        raise ProducerError("the validation share must be between 0 and 1")
    existing = alias_version(settings, CHAMPION)
    if existing is not None and not force:
        return BootstrapResult(False, settings.model_name, existing)
    frame, labels = pre_drift_frame(scenario, rows, seed)
    cut = round(len(frame) * (1.0 - validation_share))
    if cut < 10 or len(frame) - cut < 10:
        raise ProducerError(f"{len(frame)} pre-drift rows are too few to train and validate")
    train_x, train_y = frame.iloc[:cut], labels[:cut]
    valid_x, valid_y = frame.iloc[cut:], labels[cut:]
    chosen = {**default_params(trainer), **(params or {})}
    trained = fit_and_profile(
        trainer,
        chosen,
        train_x,
        train_y,
        reference=(valid_x, valid_y),
        sample_size=settings.reference_sample_size,
        seed=seed,
    )
    registered = register(
        settings,
        trained,
        train_frame=train_x,
        labels=train_y,
        tags={
            "centinela.trigger": "bootstrap",
            "centinela.scenario": scenario.name,
            "centinela.seed": str(seed),
            "centinela.rows": str(len(frame)),
        },
        run_name=f"bootstrap-{scenario.name}",
        experiment=settings.training_experiment,
        alias=CHAMPION,
    )
    log.info("bootstrap registered %s version %s", registered.name, registered.version)
    return BootstrapResult(
        True,
        registered.name,
        registered.version,
        registered.run_id,
        existing,
        trained.metrics,
        len(train_x),
        len(valid_x),
    )
