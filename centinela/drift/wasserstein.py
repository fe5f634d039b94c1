"""1-D Wasserstein distance between a sorted reference and a sorted window, many features at once.

Equal to ``scipy.stats.wasserstein_distance(reference, window)`` to ~1e-15 relative (the same
terms, summed pairwise rather than by a BLAS dot): the integral of ``|F_ref - F_window|`` over
the merged order of both samples. The window's position in the reference (``left``, from the KS
step) places every value in the merged order without sorting ``n1 + n2`` values again.

>>> import numpy as np
>>> from scipy import stats
>>> rng = np.random.default_rng(0)
>>> a, b = np.sort(rng.normal(size=400)), np.sort(rng.normal(0.3, size=100))
>>> left = np.searchsorted(a, b)[None, :]
>>> ours = wasserstein_many(a[None, :], b[None, :], left)[0]
>>> bool(abs(ours - stats.wasserstein_distance(a, b)) < 1e-14)
True
"""

from __future__ import annotations

import numpy as np


def wasserstein_many(reference: np.ndarray, window: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Distances of each row: ``reference`` F x n1 and ``window`` F x n2, sorted along axis 1;
    ``left[j, i]`` is the number of reference values below ``window[j, i]``."""
    n_features, n1 = reference.shape
    n2 = window.shape[1]
    total = n1 + n2
    # One feature at a time, in buffers reused across features: whole-matrix temporaries
    # (F x (n1 + n2) doubles, megabytes) cost more in page faults than the arithmetic.
    values = np.empty(total)
    is_window = np.zeros(total, dtype=bool)
    window_count = np.empty(total - 1)
    gaps = np.empty(total - 1)
    deltas = np.empty(total - 1)
    ranks = np.arange(n2)
    # |F_ref - F_win| = |rc/n1 - wc/n2| = |rc*n2 - wc*n1| / (n1*n2), with rc = t + 1 - wc:
    # the numerator (t+1)*n2 - wc*(n1+n2) is an exact integer in float64, one pass cheaper.
    scaled_rank = np.arange(1, total, dtype=np.float64) * n2
    out = np.empty(n_features)
    for j in range(n_features):
        # Window value i goes before the reference value left[i] in the merged order.
        window_pos = left[j] + ranks
        is_window[:] = False
        is_window[window_pos] = True
        values[window_pos] = window[j]
        values[~is_window] = reference[j]
        np.cumsum(is_window[:-1], out=window_count)
        np.multiply(window_count, total, out=gaps)
        np.subtract(scaled_rank, gaps, out=gaps)
        np.abs(gaps, out=gaps)
        np.subtract(values[1:], values[:-1], out=deltas)
        # multiply-and-sum, not a BLAS dot (scipy's vecdot): on a busy machine waking
        # OpenBLAS's threads costs milliseconds per call, for a 12,000-term sum
        np.multiply(gaps, deltas, out=gaps)
        out[j] = gaps.sum() / (n1 * n2)
    return out
