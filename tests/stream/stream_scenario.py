"""A small seeded stream for the worker tests: events, delayed labels, a champion in MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from centinela.contract.records import ModelEvent
from centinela.contract.settings import Settings
from centinela.models.publishing import train_and_register
from centinela.models.registry import RegisteredModel
from tests.stream.stream_data import (
    PROFILE_SAMPLE_SIZE,
    T0,
    event_bytes,
    label_bytes,
    labels_for,
    rows,
    seeded_frame,
)


def register_champion(
    settings: Settings, *, seed: int = 0, alias: str | None = "champion"
) -> RegisteredModel:
    """Train on a seeded frame and register the version (as `centinela bootstrap` would); its
    profile is :func:`~tests.stream.stream_data.profile_for`'s (all 1,500 rows, their labels)."""
    frame = seeded_frame(1500, seed=seed)
    return train_and_register(
        settings,
        "logistic_regression",
        {"C": 1.0 + seed},
        frame,
        labels_for(frame),
        tags={"centinela.test": "stream"},
        run_name=f"stream-test-{seed}",
        alias=alias,
        sample_size=PROFILE_SAMPLE_SIZE,
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
