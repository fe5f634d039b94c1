"""Wasserstein, PSI, Jensen-Shannon and chi-square equal their scipy references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from centinela.drift.chi2 import chi2_homogeneity
from centinela.drift.histogram import PSI_EPSILON, js_distance, psi
from centinela.drift.wasserstein import wasserstein_many


def _sorted_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ref, win = np.sort(a), np.sort(b)
    return ref[None, :], win[None, :], np.searchsorted(ref, win)[None, :]


@pytest.mark.parametrize("seed", range(6))
def test_wasserstein_equals_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n1, n2 = int(rng.integers(1, 3000)), int(rng.integers(1, 3000))
    if seed % 2:
        a, b = rng.integers(0, 6, n1) * 0.5, rng.integers(1, 7, n2) * 0.5  # many ties
    else:
        a, b = rng.normal(size=n1), rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 2), n2)
    ours = wasserstein_many(*_sorted_pair(a, b))[0]
    assert ours == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12, abs=1e-15)


def test_wasserstein_many_rows_are_independent() -> None:
    rng = np.random.default_rng(11)
    reference = np.sort(rng.normal(size=(5, 1000)), axis=1)
    window = np.sort(rng.normal(size=(5, 300)) * np.arange(1, 6)[:, None], axis=1)
    left = np.stack([np.searchsorted(reference[j], window[j]) for j in range(5)])
    ours = wasserstein_many(reference, window, left)
    expected = [stats.wasserstein_distance(reference[j], window[j]) for j in range(5)]
    assert ours == pytest.approx(expected, rel=1e-12)


def test_psi_known_values_and_empty_cells() -> None:
    assert psi([10, 20, 30], [10, 20, 30]) == 0.0
    p, q = np.array([0.5, 0.5]), np.array([0.8, 0.2])
    assert psi([50, 50], [80, 20]) == pytest.approx(np.sum((q - p) * np.log(q / p)))
    # an empty window cell counts as PSI_EPSILON instead of making PSI infinite
    p3, q3 = np.array([0.5, 0.25, 0.25]), np.array([0.5, 0.5, PSI_EPSILON])
    assert psi([2, 1, 1], [1, 1, 0]) == pytest.approx(np.sum((q3 - p3) * np.log(q3 / p3)))
    assert np.isfinite(psi([1, 0], [0, 1]))


def test_js_equals_scipy_jensenshannon_base_2() -> None:
    rng = np.random.default_rng(5)
    for _ in range(10):
        ref = rng.integers(0, 100, 8).astype(float)
        win = rng.integers(0, 100, 8).astype(float)
        win[0] = 0
        assert js_distance(ref, win) == pytest.approx(
            distance.jensenshannon(ref, win, base=2), rel=1e-12, abs=1e-15
        )
    assert js_distance([5, 5], [5, 5]) == 0.0
    assert js_distance([1, 0], [0, 1]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "reference,window",
    [
        ([300, 500, 200], [25, 40, 45]),
        ([300, 500, 200, 0], [25, 40, 45, 7]),  # a category unseen in the reference
        ([300, 0, 700], [60, 0, 40]),  # a cell empty in both: dropped, dof 1, Yates
        ([1000, 3], [200, 2]),  # small expected counts
        ([40, 60], [40, 60]),
    ],
)
def test_chi2_equals_scipy_chi2_contingency(reference: list[int], window: list[int]) -> None:
    table = np.array([reference, window])
    kept = table[:, table.sum(axis=0) > 0]
    expected = stats.chi2_contingency(kept)
    ours = chi2_homogeneity(reference, window)
    assert ours.statistic == pytest.approx(expected.statistic, rel=1e-12, abs=1e-12)
    assert abs(ours.pvalue - expected.pvalue) <= 1e-12
    assert ours.dof == expected.dof


def test_chi2_degenerate_tables_do_not_drift() -> None:
    assert chi2_homogeneity([10, 0], [5, 0]).pvalue == 1.0  # one category only
    assert chi2_homogeneity([10, 5], [0, 0]).pvalue == 1.0  # empty window
    assert chi2_homogeneity([10, 5], [10, 5], correction=False).statistic == 0.0


def test_many_at_once_equals_one_by_one() -> None:
    from centinela.drift.histogram import js_many, psi_many

    rng = np.random.default_rng(9)
    reference = [rng.integers(0, 50, size=k).astype(float) for k in (3, 10, 7, 1)]
    window = [rng.integers(0, 50, size=k).astype(float) for k in (3, 10, 7, 1)]
    window[1][4] = 0.0
    assert psi_many(reference, window) == pytest.approx(
        [psi(r, w) for r, w in zip(reference, window, strict=True)], rel=1e-12, abs=1e-15
    )
    assert js_many(reference, window) == pytest.approx(
        [js_distance(r, w) for r, w in zip(reference, window, strict=True)], rel=1e-12, abs=1e-15
    )
