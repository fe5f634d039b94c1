"""A small seeded stream for the worker tests: events, delayed labels, a champion in MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from centinela.contract.records import ModelEvent
from centinela.contract.settings import Settings
from centinela.models.registry import RegisteredModel, log_model_version
from centinela.models.trainers import train
from tests.stream.stream_data import (
    T0,
    event_bytes,
    label_bytes,
    labels_for,
    profile_for,
    rows,
    seeded_frame,
)


def register_champion(
    settings: Settings, *, seed: int = 0, alias: str | None = "champion"
) -> RegisteredModel:
    """Train on a seeded frame and register the version (as `centinela bootstrap` would)."""
    frame = seeded_frame(1500, seed=seed)
    labels = labels_for(frame)
    model = train("logistic_regression", {"C": 1.0 + seed}, frame, labels)
    return log_model_version(
        settings,
        model,
        profile=profile_for(model, frame, labels),
        trainer="logistic_regression",
        params={"C": 1.0 + seed},
        metrics={},
        train_frame=frame,
        labels=labels,
        tags={"centinela.test": "stream"},
        run_name=f"stream-test-{seed}",
        experiment=settings.training_experiment,
        alias=alias,
    )


def promoted(settings: Settings, version: str) -> bytes:
    event = ModelEvent(event_type="promoted", model_name=settings.model_name, version=version)
    return event.model_dump_json().encode()


@dataclass
class Scenario:
    """``n`` events ``spacing`` seconds apart in event time; labels ``delay`` later."""

    n: int
    spacing: float = 0.002
    delay: float = 0.5
    start: int = 0
    seed: int = 1
    label_share: float = 1.0
    prefix: str = "e"
    features: list[tuple[bytes, bytes]] = field(init=False)
    labels: list[tuple[bytes, bytes]] = field(init=False)

    def __post_init__(self) -> None:
        frame = seeded_frame(self.n, seed=self.seed)
        truth = labels_for(frame)
        keep = np.random.default_rng(self.seed).random(self.n) < self.label_share
        self.features, self.labels = [], []
        for i, features in enumerate(rows(frame)):
            event_id = self.event_id(i)
            moment = self.time(i)
            self.features.append((event_id.encode(), event_bytes(event_id, moment, features)))
            if keep[i]:
                labelled = moment + timedelta(seconds=self.delay)
                self.labels.append(
                    (event_id.encode(), label_bytes(event_id, int(truth[i]), labelled))
                )

    def event_id(self, i: int) -> str:
        return f"{self.prefix}-{self.start + i}"

    def time(self, i: int) -> Any:
        return T0 + timedelta(seconds=(self.start + i) * self.spacing)

    def ids(self) -> set[str]:
        return {self.event_id(i) for i in range(self.n)}
