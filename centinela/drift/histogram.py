"""Distances between a reference histogram and a window histogram on the same cells.

Both work on counts (the reference profile's bins or categories, plus an "unseen" cell for
categoricals), so they cost nothing per event and merge exactly.

- :func:`psi`: population stability index, ``sum((q - p) * ln(q / p))`` on proportions, with
  empty cells lifted to :data:`PSI_EPSILON` (the usual convention; otherwise one empty cell makes
  it infinite). Rule of thumb: < 0.1 stable, 0.1-0.2 moderate, > 0.2 (``psi_threshold``) shift.
- :func:`js_distance`: Jensen-Shannon distance, base 2 (in [0, 1]), equal to
  ``scipy.spatial.distance.jensenshannon(ref, window, base=2)``.

>>> round(psi([50, 50], [50, 50]), 6), round(psi([50, 50], [80, 20]), 4)
(0.0, 0.4159)
>>> round(js_distance([1, 0], [0, 1]), 6)
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
from scipy import special

PSI_EPSILON = 1e-4

Counts: TypeAlias = Sequence[float] | np.ndarray


def psi(reference_counts: Counts, window_counts: Counts) -> float:
    p = _proportions(reference_counts)
    q = _proportions(window_counts)
    p = np.maximum(p, PSI_EPSILON)
    q = np.maximum(q, PSI_EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(reference_counts: Counts, window_counts: Counts) -> float:
    p = _proportions(reference_counts)
    q = _proportions(window_counts)
    m = (p + q) / 2.0
    divergence = (np.sum(special.rel_entr(p, m)) + np.sum(special.rel_entr(q, m))) / 2.0
    return float(np.sqrt(divergence / np.log(2.0)))


def psi_many(reference_counts: Sequence[Counts], window_counts: Sequence[Counts]) -> list[float]:
    """:func:`psi` of many features at once (cells padded with zeros, which add nothing)."""
    p = np.maximum(_row_proportions(_padded(reference_counts)), PSI_EPSILON)
    q = np.maximum(_row_proportions(_padded(window_counts)), PSI_EPSILON)
    return np.sum((q - p) * np.log(q / p), axis=1).tolist()


def js_many(reference_counts: Sequence[Counts], window_counts: Sequence[Counts]) -> list[float]:
    """:func:`js_distance` of many features at once."""
    p = _row_proportions(_padded(reference_counts))
    q = _row_proportions(_padded(window_counts))
    m = (p + q) / 2.0
    divergence = (special.rel_entr(p, m).sum(axis=1) + special.rel_entr(q, m).sum(axis=1)) / 2.0
    return np.sqrt(divergence / np.log(2.0)).tolist()


def _padded(counts: Sequence[Counts]) -> np.ndarray:
    width = max((len(c) for c in counts), default=0)
    out = np.zeros((len(counts), width))
    for row, values in enumerate(counts):
        out[row, : len(values)] = values
    return out


def _row_proportions(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def _proportions(counts: Counts) -> np.ndarray:
    values = np.asarray(counts, dtype=np.float64)
    total = values.sum()
    return values / total if total > 0 else np.zeros_like(values)
