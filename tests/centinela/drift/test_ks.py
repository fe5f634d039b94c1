"""The KS test equals scipy.stats.ks_2samp: statistic to the bit, p-value to 1e-9 (and better)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import special, stats

from centinela.drift.exceptions import DriftError
from centinela.drift.kolmogorov import kstwo_sf, smirnov_sf
from centinela.drift.ks import ks_2samp, ks_pvalue, ks_pvalues_asymp, ks_statistics

TOLERANCE = 1e-9


def _pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Seeded sample pairs: continuous, shifted either way, heavy ties, tiny, lopsided sizes."""
    rng = np.random.default_rng(20260101)
    return [
        ("same", rng.normal(size=1000), rng.normal(size=400)),
        ("shift up", rng.normal(size=2000), rng.normal(0.15, size=700)),
        ("shift down", rng.normal(size=1500), rng.normal(-0.2, size=900)),
        ("wider", rng.normal(size=800), rng.normal(0, 1.3, size=800)),
        ("ties", rng.integers(0, 8, 1200).astype(float), rng.integers(0, 8, 500).astype(float)),
        ("ties shifted", rng.integers(0, 5, 900).astype(float), rng.integers(1, 6, 300) * 1.0),
        ("shared values", np.repeat([0.0, 1.0, 2.5], 300), np.repeat([1.0, 2.5, 4.0], 50)),
        ("tiny", rng.normal(size=7), rng.normal(1, size=5)),
        ("one value", rng.normal(size=50), np.array([0.3])),
        ("disjoint", rng.uniform(0, 1, 300), rng.uniform(2, 3, 200)),
        ("strong drift", rng.normal(size=10_000), rng.normal(0.5, size=2000)),
    ]


@pytest.mark.parametrize("name,reference,window", _pairs(), ids=[p[0] for p in _pairs()])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
@pytest.mark.parametrize("method", ["asymp", "exact", "auto"])
def test_ks_equals_scipy(
    name: str, reference: np.ndarray, window: np.ndarray, alternative: str, method: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy: exact -> asymp fallbacks
        expected = stats.ks_2samp(reference, window, alternative=alternative, method=method)
    ours = ks_2samp(reference, window, method=method, alternative=alternative)  # type: ignore[arg-type]
    assert ours.statistic == expected.statistic
    assert abs(ours.pvalue - expected.pvalue) <= TOLERANCE
    assert ours.pvalue == pytest.approx(expected.pvalue, rel=1e-10, abs=1e-300)


def test_batch_statistics_equal_scipy_per_feature() -> None:
    rng = np.random.default_rng(7)
    reference = np.sort(rng.normal(size=(12, 3000)), axis=1)
    window = rng.normal(size=(12, 800)) + np.linspace(-0.3, 0.3, 12)[:, None]
    window[3] = np.round(window[3], 1)  # ties with each other
    window[4, :100] = reference[4, :100]  # ties with the reference
    window = np.sort(window, axis=1)
    batch = ks_statistics(reference, window)
    d = batch.two_sided()
    p = ks_pvalues_asymp(d, 3000, 800)
    for j in range(12):
        expected = stats.ks_2samp(reference[j], window[j], method="asymp")
        assert d[j] == expected.statistic
        assert abs(p[j] - expected.pvalue) <= 1e-12
    assert batch.left.shape == window.shape
    assert np.array_equal(batch.left[5], np.searchsorted(reference[5], window[5]))


@pytest.mark.parametrize("n", [3, 60, 141, 1667, 5000, 20_000])
def test_kolmogorov_survival_equals_scipy_kstwo(n: int) -> None:
    points = 400 if n < 1000 else 100  # scipy's own smirnov is slow for large n
    x = np.unique(np.concatenate([np.linspace(0, 1, points), np.geomspace(1e-5, 0.3, points)]))
    ours = kstwo_sf(x, n)
    expected = stats.kstwo.sf(x, n)
    assert np.max(np.abs(ours - expected)) <= 1e-10  # log-space sum: error grows like n * eps
    positive = expected > 1e-250
    assert np.allclose(ours[positive], expected[positive], rtol=1e-9, atol=0)


def test_smirnov_sum_equals_scipy_special() -> None:
    for n in (150, 1667, 6000):
        x = np.linspace(0.3 / np.sqrt(n), 0.9, 60)
        assert np.allclose(smirnov_sf(n, x), special.smirnov(n, x), rtol=1e-10, atol=1e-300)


def test_exact_p_values_are_cached_and_equal_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=500), rng.normal(0.1, size=300)
    expected = stats.ks_2samp(a, b, method="exact")
    first = ks_2samp(a, b, method="exact")
    again = ks_pvalue(first.statistic, 500, 300, method="exact")
    assert first.pvalue == expected.pvalue and again == first  # scipy's routine, same result
    assert first.statistic == expected.statistic


def test_empty_samples_are_refused() -> None:
    with pytest.raises(DriftError, match="non-empty"):
        ks_2samp(np.array([]), np.array([1.0]))


def test_every_statistic_two_samples_can_have_is_asked_of_scipy_exactly() -> None:
    """The exact p-value is asked of scipy on two-valued samples: for every pair of small sizes
    and every D that two samples of those sizes can have, those samples have that D."""
    from centinela.drift.ks import _counts_at_zero

    for n1 in range(1, 13):
        for n2 in range(1, 13):
            lcm = n1 * n2 // math.gcd(n1, n2)
            reachable = {
                round((a / n1 - b / n2) * lcm) for a in range(n1 + 1) for b in range(n2 + 1)
            }
            for h in sorted(d for d in reachable if d >= 0):
                a, b = _counts_at_zero(n1, n2, h)
                assert 0 <= a <= n1 and 0 <= b <= n2
                assert round((a / n1 - b / n2) * lcm) == h
