"""Fixtures for the drift unit tests: seeded reference profiles and window summaries."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from centinela.drift.summary import WindowSummary
from centinela.models.profile import ReferenceProfile, build_profile
from tests.centinela.drift.factories import T0, WINDOW, gaussian_frame, predictions_for


@pytest.fixture
def make_profile() -> Callable[..., ReferenceProfile]:
    def make(n_numeric: int = 5, *, n: int = 4000, seed: int = 0, accuracy: float = 0.9):
        frame = gaussian_frame(n, n_numeric, seed=seed)
        predicted = predictions_for(frame)
        rng = np.random.default_rng(seed + 1)
        wrong = rng.random(n) > accuracy
        labels = np.where(wrong, 1 - predicted, predicted)
        p1 = np.clip(np.where(predicted == 1, 0.8, 0.2) + rng.normal(0, 0.05, n), 0.01, 0.99)
        return build_profile(
            frame,
            predicted,
            classes=[0, 1],
            labels=labels,
            probabilities=np.column_stack([1 - p1, p1]),
            sample_size=min(n, 2000),
        )

    return make


@pytest.fixture
def make_summary() -> Callable[..., WindowSummary]:
    def make(
        profile: ReferenceProfile,
        frame: pd.DataFrame | None = None,
        *,
        window_id: int = 0,
        prefix: str = "e",
        exact_cap: int = 20_000,
        version: str = "1",
    ) -> WindowSummary:
        summary = WindowSummary.empty(
            profile,
            model_version=version,
            window_id=window_id,
            window_start=T0 + window_id * WINDOW,
            window_end=T0 + (window_id + 1) * WINDOW,
            exact_cap=exact_cap,
        )
        if frame is not None:
            ids = [f"{prefix}{i}" for i in range(len(frame))]
            summary.add_events(ids, frame, predictions_for(frame))
        return summary

    return make
