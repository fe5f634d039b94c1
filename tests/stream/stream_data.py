"""Seeded data for the stream's tests: a small model, its profile, event and label bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pandas as pd

from centinela.models.profile import ReferenceProfile, build_profile
from centinela.models.registry import LoadedModel
from centinela.models.trainers import train

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PROFILE_SAMPLE_SIZE = 2000  # the reference sample of the test profiles: every row up to 2,000


def seeded_frame(n: int, *, seed: int = 0, numeric: int = 3, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {f"x{i}": rng.normal(shift, 1.0, n) for i in range(numeric)}
    columns["colour"] = rng.choice(["red", "green", "blue"], n)
    return pd.DataFrame(columns)


def labels_for(frame: pd.DataFrame, *, flip: bool = False) -> np.ndarray:
    """A learnable concept: x0 + x1 > 0, optionally inverted (a concept change)."""
    truth = (frame["x0"] + frame["x1"] > 0).astype(int).to_numpy()
    return 1 - truth if flip else truth


def trained_model(version: str = "1", *, n: int = 2000, seed: int = 0) -> LoadedModel:
    """A fitted pipeline with its profile, as the registry would load it (no MLflow)."""
    frame = seeded_frame(n, seed=seed)
    labels = labels_for(frame)
    model = train("logistic_regression", {}, frame, labels)
    profile = profile_for(model, frame, labels)
    return LoadedModel("m", version, f"run-{version}", model, profile, "logistic_regression", {})


def profile_for(model: Any, frame: pd.DataFrame, labels: np.ndarray) -> ReferenceProfile:
    return build_profile(
        frame,
        model.predict(frame),
        classes=list(model.classes_),
        labels=labels,
        probabilities=model.predict_proba(frame),
        sample_size=PROFILE_SAMPLE_SIZE,
    )


def event_bytes(event_id: str, moment: datetime, features: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "schema_version": 1,
            "event_id": event_id,
            "event_time": moment.isoformat(),
            "features": features,
        }
    )


def label_bytes(event_id: str, label: Any, moment: datetime) -> bytes:
    return orjson.dumps(
        {
            "schema_version": 1,
            "event_id": event_id,
            "label": label,
            "label_time": moment.isoformat(),
        }
    )


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass(frozen=True)
class FakeMessage:
    """The fields of a Kafka record the pipeline reads (a value object, not a broker mock)."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int = 0
