"""Two-sample Kolmogorov-Smirnov test that equals ``scipy.stats.ks_2samp``, built for windows.

scipy sorts both samples and searches all ``n1 + n2`` values in both on every call. Here the
reference is sorted once per profile (:attr:`ReferenceProfile.sorted_samples`), the window once,
and only the window's ``n2`` values are searched in the reference (:func:`ks_statistics`, all
features at once). The statistic is the maximum of the same ``k/n1 - m/n2`` floating-point
differences scipy takes, so it is bit-identical; the p-value follows scipy's formula:

- ``asymp``: two-sided ``kstwo.sf(d, round(n1*n2/(n1+n2)))`` (:func:`kstwo_sf`); one-sided,
  Hodges' approximation.
- ``exact``: scipy's public ``ks_2samp(method='exact')`` on two-valued samples with the same
  sizes and statistic, cached per ``(n1, n2, h)``; as fast as scipy's core, not faster
  (several ms per feature at 10,000 x 2,000), falling back to ``asymp`` where scipy does.
- ``auto``: ``exact`` if ``max(n1, n2) <= 10000``, else ``asymp`` (scipy's default).

>>> import numpy as np
>>> from scipy import stats
>>> rng = np.random.default_rng(0)
>>> a, b = rng.normal(size=500), rng.normal(0.2, size=300)
>>> ours = ks_2samp(a, b, method="asymp")
>>> theirs = stats.ks_2samp(a, b, method="asymp")
>>> bool(ours.statistic == theirs.statistic), bool(abs(ours.pvalue - theirs.pvalue) < 1e-12)
(True, True)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import stats

from centinela.drift.exceptions import DriftError
from centinela.drift.kolmogorov import kstwo_sf

KsMethod = Literal["asymp", "exact", "auto"]
Alternative = Literal["two-sided", "less", "greater"]
MAX_AUTO_N = 10_000  # scipy's 'auto' tries exact up to this sample size
BLOCK_VALUES = 50_000  # window values per block of features in ks_statistics


@dataclass(frozen=True)
class KsResult:
    statistic: float
    pvalue: float


@dataclass(frozen=True)
class KsStatistics:
    """One-sided statistics of many features (rows), and where the window sits in the reference.

    ``d_plus`` is ``max(F_ref - F_window)`` and ``d_minus`` is ``max(F_window - F_ref)`` (clipped
    at 0, as scipy's ``minS``); ``left[j, i]`` counts reference values below window value ``i``
    of feature ``j`` (the Wasserstein distance reuses it).
    """

    d_plus: np.ndarray
    d_minus: np.ndarray
    left: np.ndarray

    def two_sided(self) -> np.ndarray:
        return np.where(self.d_minus > self.d_plus, self.d_minus, self.d_plus)


def ks_statistics(reference: np.ndarray, window: np.ndarray) -> KsStatistics:
    """KS statistics of each row of ``window`` (F x n2) against the same row of ``reference``
    (F x n1); both sorted along axis 1, finite.

    Between two distinct window values the window CDF is flat, so ``F_ref - F_window`` peaks
    just below the next window value (``left/n1 - i/n2``) or at a window value
    (``right/n1 - (i+1)/n2``), and ``F_window - F_ref`` peaks at a window value: only window
    positions need the reference, and only through ``searchsorted``. Every candidate is one of
    the differences scipy evaluates, and the dominated ones never exceed an evaluated one, so
    the maxima are scipy's to the bit.
    """
    n_features, n1 = reference.shape
    n2 = window.shape[1]
    if n1 == 0 or n2 == 0:
        raise DriftError("KS needs non-empty samples")
    left = np.empty(window.shape, dtype=np.int64)
    d_plus, d_minus = np.empty(n_features), np.empty(n_features)
    # Features in blocks of ~BLOCK_VALUES window values: all at once for a small window (the
    # fastest), a few at a time for a large one (whole-matrix temporaries were ~20 MB for a
    # 20,000-event window: docs/benchmarks.md). Rows are independent, so the result is the same.
    step = max(1, BLOCK_VALUES // n2)
    for start in range(0, n_features, step):
        rows = slice(start, start + step)
        d_plus[rows], d_minus[rows] = _one_sided(reference[rows], window[rows], left[rows])
    return KsStatistics(d_plus=d_plus, d_minus=d_minus, left=left)


def _one_sided(
    reference: np.ndarray, window: np.ndarray, left: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(d_plus, d_minus)`` of a block of features; fills ``left`` (see :func:`ks_statistics`)."""
    n_features, n1 = reference.shape
    n2 = window.shape[1]
    for j in range(n_features):
        left[j] = np.searchsorted(reference[j], window[j], side="left")
    right = left
    probe = np.take_along_axis(reference, np.minimum(left, n1 - 1), axis=1)
    if np.any(probe == window):  # ties with the reference: count the equal values too
        right = np.empty_like(left)
        for j in range(n_features):
            right[j] = np.searchsorted(reference[j], window[j], side="right")
    rank = np.arange(n2, dtype=np.float64)
    below = rank / n2  # window CDF just below a value: i/n2
    at = (rank + 1.0) / n2  # at the last of a run of equal values: (i+1)/n2
    ref_at = right / n1
    if not np.any(window[:, 1:] == window[:, :-1]):  # no ties inside the window: every
        d_plus = np.maximum((left / n1 - below).max(axis=1), (ref_at - at).max(axis=1))
        d_plus = np.maximum(d_plus, 0.0)  # value is the first and the last of its run
        return d_plus, np.clip((at - ref_at).max(axis=1), 0.0, 1.0)
    first = np.ones(window.shape, dtype=bool)
    np.not_equal(window[:, 1:], window[:, :-1], out=first[:, 1:])
    last = np.ones(window.shape, dtype=bool)
    last[:, :-1] = first[:, 1:]
    just_below = np.where(first, left / n1 - below, -np.inf)
    at_value = np.where(last, ref_at - at, -np.inf)
    d_plus = np.maximum(np.maximum(just_below.max(axis=1), at_value.max(axis=1)), 0.0)
    return d_plus, np.clip(np.where(last, at - ref_at, -np.inf).max(axis=1), 0.0, 1.0)


def ks_2samp(
    reference: np.ndarray,
    window: np.ndarray,
    *,
    method: KsMethod = "asymp",
    alternative: Alternative = "two-sided",
    presorted: bool = False,
) -> KsResult:
    """``scipy.stats.ks_2samp(reference, window, alternative, method)``, same numbers."""
    ref = np.asarray(reference, dtype=np.float64)
    win = np.asarray(window, dtype=np.float64)
    if not presorted:
        ref, win = np.sort(ref), np.sort(win)
    stats = ks_statistics(ref[None, :], win[None, :])
    d_plus, d_minus = float(stats.d_plus[0]), float(stats.d_minus[0])
    if alternative == "less" or (alternative == "two-sided" and d_minus > d_plus):
        d = d_minus
    else:
        d = d_plus
    return ks_pvalue(d, ref.size, win.size, method=method, alternative=alternative)


def ks_pvalue(
    d: float,
    n1: int,
    n2: int,
    *,
    method: KsMethod = "asymp",
    alternative: Alternative = "two-sided",
) -> KsResult:
    """The statistic (rounded to the lattice in exact mode, as scipy returns it) and p-value."""
    mode = method
    if mode == "auto":
        mode = "exact" if max(n1, n2) <= MAX_AUTO_N else "asymp"
    elif mode == "exact":
        g = math.gcd(n1, n2)
        if n1 // g >= np.iinfo(np.int32).max / (n2 // g):
            mode = "asymp"
    if mode == "exact":
        return KsResult(*_exact(n1, n2, _lattice_h(d, n1, n2), alternative))
    return KsResult(d, float(np.clip(_asymp(d, n1, n2, alternative), 0, 1)))


def ks_pvalues_asymp(d: np.ndarray, n1: int, n2: int) -> np.ndarray:
    """Two-sided asymptotic p-values for many statistics of the same sample sizes at once."""
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return np.clip(kstwo_sf(np.asarray(d, dtype=np.float64), round(en)), 0, 1)


def _asymp(d: float, n1: int, n2: int, alternative: Alternative) -> float:
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    if alternative == "two-sided":
        return float(kstwo_sf(np.array([d]), round(en))[0])
    z = np.sqrt(en) * d
    # Hodges' approximation (his eq. 5.3) with m the larger sample, as scipy.
    expt = -2 * z**2 - 2 * z * (m + 2 * n) / np.sqrt(m * n * (m + n)) / 3.0
    return float(np.exp(expt))


def _lattice_h(d: float, n1: int, n2: int) -> int:
    g = math.gcd(n1, n2)
    return round(d * ((n1 // g) * n2))


@lru_cache(maxsize=4096)
def _exact(n1: int, n2: int, h: int, alternative: Alternative) -> tuple[float, float]:
    """scipy's exact statistic and p-value for ``D = h / lcm(n1, n2)``, cached: it is costly.

    The exact p-value depends only on the sizes and ``D``, so scipy's public ``ks_2samp`` is
    asked about the smallest samples of those sizes that have that ``D``: ``a`` of the first
    and ``b`` of the second at 0, the rest at 1, with ``a/n1 - b/n2 = D`` (every ``D`` two
    samples can have is of that form, at the value where it is reached).
    """
    a, b = _counts_at_zero(n1, n2, h)
    first = np.repeat([0.0, 1.0], [a, n1 - a])
    second = np.repeat([0.0, 1.0], [b, n2 - b])
    if alternative == "less":  # D- = max(F2 - F1): the same shape, the samples' roles swapped
        first = np.repeat([0.0, 1.0], [n1 - a, a])
        second = np.repeat([0.0, 1.0], [n2 - b, b])
    with warnings.catch_warnings():  # scipy's own fallback to 'asymp' warns; it is expected
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ks_2samp(first, second, alternative=alternative, method="exact")
    return float(result.statistic), float(result.pvalue)


def _counts_at_zero(n1: int, n2: int, h: int) -> tuple[int, int]:
    """``a <= n1`` and ``b <= n2`` with ``a * n2' - b * n1' = h`` (``n' = n / gcd``).

    ``a`` is the largest solution of ``a * n2' = h (mod n1')``; it gives the largest ``b``,
    which is at most ``n2`` since ``a <= n1``; if that ``b`` is negative, none is possible.
    """
    g = math.gcd(n1, n2)
    n1_, n2_ = n1 // g, n2 // g
    residue = h * pow(n2_, -1, n1_) % n1_ if n1_ > 1 else 0
    a = n1 - (n1 - residue) % n1_
    b = (a * n2_ - h) // n1_
    if b < 0:
        raise DriftError(f"no two samples of sizes {n1} and {n2} have D = {h}/lcm")
    return a, b
