"""Seeded data for the drift unit tests (the fixtures in conftest.py build on these)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(seconds=20)


def gaussian_frame(
    n: int, n_numeric: int, *, seed: int, shift: dict[int, float] | None = None
) -> pd.DataFrame:
    """``n`` rows of independent N(0, 1) features ``x0..``, plus a categorical ``colour``."""
    rng = np.random.default_rng(seed)
    shift = shift or {}
    frame = pd.DataFrame(
        {f"x{j}": rng.normal(shift.get(j, 0.0), 1.0, size=n) for j in range(n_numeric)}
    )
    frame["colour"] = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2])
    return frame


def predictions_for(frame: pd.DataFrame) -> np.ndarray:
    """A fixed 'model': class 1 when x0 > 0."""
    return (frame["x0"].to_numpy() > 0).astype(int)
