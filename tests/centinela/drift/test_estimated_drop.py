"""The estimated-performance alert: a window whose accuracy estimated before labels falls more
than the tolerance below the baseline is flagged (and alerted); a stable window is not; a
window too small for a data verdict is not judged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from centinela.contract.records import DriftReport
from centinela.drift import DriftConfig, WindowSummary, compute_drift
from centinela.models.publishing import TrainedModel, fit_and_profile
from stream.alerts import alerts_for

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _frame(n: int, seed: int, scale: float = 1.0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(0.0, scale, size=(n, 3)), columns=["x0", "x1", "x2"])
    labels = (frame["x0"] + rng.normal(0.0, 0.3, n) > 0).astype(int).to_numpy()
    return frame, labels


def _trained() -> TrainedModel:
    frame, labels = _frame(6000, seed=1)
    return fit_and_profile(
        "logistic_regression", {}, frame.iloc[:4000], labels[:4000],
        reference=(frame.iloc[4000:], labels[4000:]), sample_size=2000,
    )  # fmt: skip


def _window(trained: TrainedModel, n: int, scale: float, config: DriftConfig) -> DriftReport:
    frame, _ = _frame(n, seed=5, scale=scale)
    summary = WindowSummary.empty(
        trained.profile, model_version="1", window_id=0, window_start=T0,
        window_end=T0 + timedelta(seconds=20), exact_cap=20_000,
    )  # fmt: skip
    proba = trained.model.predict_proba(frame)
    summary.add_events([f"e{i}" for i in range(n)], frame, proba.argmax(axis=1), proba)
    return compute_drift(summary, trained.profile, config, model_name="m")


def test_a_shift_towards_the_boundary_is_flagged_before_any_label() -> None:
    trained, config = _trained(), DriftConfig()
    baseline = trained.profile.baseline_metrics["accuracy"]
    stable = _window(trained, 2000, scale=1.0, config=config)
    assert abs(stable.estimated_performance["accuracy"] - baseline) < 0.02
    assert not stable.estimated_drop
    assert not any(a.kind == "estimated_performance_drop" for a in alerts_for(stable))

    # Inputs squeezed towards x0 = 0: the model is unsure of most events, labels or not.
    shifted = _window(trained, 2000, scale=0.15, config=config)
    assert shifted.estimated_performance["accuracy"] < baseline - 0.05
    assert shifted.estimated_drop
    kinds = [a.kind for a in alerts_for(shifted)]
    assert "estimated_performance_drop" in kinds

    lenient = DriftConfig(estimated_drop_tolerance=0.5)
    assert not _window(trained, 2000, scale=0.15, config=lenient).estimated_drop
    small = _window(trained, 50, scale=0.15, config=config)  # under min_events: no verdict
    assert not small.estimated_drop
