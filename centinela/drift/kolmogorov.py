"""Survival function of the two-sided one-sample Kolmogorov-Smirnov statistic, vectorised.

``kstwo_sf(x, n)`` equals ``scipy.stats.kstwo.sf(x, n)``: it follows the branches of scipy's
``_kolmogn`` (Simard and L'Ecuyer 2011) and evaluates the two that a drift window actually
hits (Smirnov's formula for clear drift, Pelz-Good for ``n * x**2 < 2.2``) for all features at
once. ``scipy.stats.kstwo.sf`` spends most of a call in its generic machinery, and
``scipy.special.smirnov`` is slow at window sizes (an exact Birnbaum-Tingey sum in extended
precision, milliseconds per value); here the same sum, all of whose terms are positive, is
evaluated in log space with the binomial coefficients cached per ``n``: relative agreement
~1e-12. The rare branches (very
small ``n`` or ``x``: the Durbin matrix, Pomeranz, Ruben-Gambino) go to scipy itself. What
this buys per drift window, measured against scipy: docs/benchmarks.md ("Drift window").

>>> import numpy as np
>>> from scipy import stats
>>> x = np.array([0.01, 0.02, 0.05, 0.3])
>>> bool(np.allclose(kstwo_sf(x, 1667), stats.kstwo.sf(x, 1667), rtol=1e-11, atol=0))
True
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special
from scipy.stats import distributions

_MIN_LOG = -708
_SQRT2PI = np.sqrt(2 * np.pi)
_SQRT3 = np.sqrt(3)
_PI_SQUARED = np.pi**2
_PI_FOUR = np.pi**4
_PI_SIX = np.pi**6
_SMALL_N = 140  # scipy's cut-off below which other algorithms apply


def kstwo_sf(x: np.ndarray, n: int) -> np.ndarray:
    """``P(D_n >= x)`` for each ``x`` (``scipy.stats.kstwo.sf``), as a float64 array."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    out[x <= 0.5 / n] = 1.0  # at or below the support: rv_continuous.sf places 1
    out[x >= 1.0] = 0.0
    inside = (x > 0.5 / n) & (x < 1.0)
    if n <= _SMALL_N:
        _from_scipy(out, x, inside, n)
        return out
    t = n * x
    nxsquared = t * x
    todo = inside.copy()
    scipy_mask = todo & (t <= 1.0)  # Ruben-Gambino, below any useful drift
    todo &= ~scipy_mask
    upper = todo & (t >= n - 1)
    out[upper] = 2 * (1.0 - x[upper]) ** n
    todo &= ~upper
    tiny = todo & (x < 0.5) & (nxsquared >= 370.0)
    out[tiny] = 0.0
    todo &= ~tiny
    smirnov = todo & ((x >= 0.5) | (nxsquared >= 2.2))
    out[smirnov] = np.clip(2 * smirnov_sf(n, x[smirnov]), 0.0, 1.0)
    todo &= ~smirnov
    durbin = todo & (n <= 100_000) & (n * x**1.5 <= 1.4)
    scipy_mask |= durbin
    todo &= ~durbin
    out[todo] = np.clip(1.0 - _pelz_good_cdf(n, x[todo]), 0.0, 1.0)
    _from_scipy(out, x, scipy_mask, n)
    return out


def smirnov_sf(n: int, x: np.ndarray) -> np.ndarray:
    """One-sided ``P(D+_n >= x)`` (``scipy.special.smirnov``) for 0 < x < 1, element-wise.

    Birnbaum-Tingey: ``x * sum_{j=0}^{floor(n(1-x))} C(n,j) (x+j/n)^(j-1) (1-x-j/n)^(n-j)``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    # Rows of n + 1 terms: a few at a time, so that memory stays bounded for large n.
    step = max(1, 2_000_000 // (n + 1))
    return np.concatenate([_smirnov_rows(n, x[k : k + step]) for k in range(0, x.size, step)])


def _smirnov_rows(n: int, x: np.ndarray) -> np.ndarray:
    log_binom = _log_binomials(n)
    j = np.arange(n + 1, dtype=np.float64)
    upto = int(np.floor(n * (1.0 - x.min())))
    j, log_binom = j[: upto + 1], log_binom[: upto + 1]
    xs = x[:, None]
    below = 1.0 - xs - j / n
    with np.errstate(divide="ignore", invalid="ignore"):
        log_terms = log_binom + (j - 1.0) * np.log(xs + j / n) + (n - j) * np.log(below)
    log_terms = np.where(below > 0.0, log_terms, -np.inf)
    return x * np.sum(np.exp(log_terms), axis=1)


@lru_cache(maxsize=32)
def _log_binomials(n: int) -> np.ndarray:
    j = np.arange(n + 1, dtype=np.float64)
    values = special.gammaln(n + 1.0) - special.gammaln(j + 1.0) - special.gammaln(n - j + 1.0)
    values.flags.writeable = False
    return values


def _from_scipy(out: np.ndarray, x: np.ndarray, mask: np.ndarray, n: int) -> None:
    if mask.any():
        out[mask] = np.clip(distributions.kstwo.sf(x[mask], n), 0.0, 1.0)


def _pelz_good_cdf(n: int, x: np.ndarray) -> np.ndarray:
    """scipy's ``_kolmogn_PelzGood(n, x, cdf=True)`` for 0 < x < 1, element-wise."""
    if x.size == 0:
        return x
    z = np.sqrt(n) * x
    zsquared, zthree, zfour, zsix = z**2, z**3, z**4, z**6
    qlog = -_PI_SQUARED / 8 / zsquared
    underflow = qlog < _MIN_LOG
    q = np.exp(qlog)
    k1a = -zsquared
    k1b = _PI_SQUARED / 4
    k2a = 6 * zsix + 2 * zfour
    k2b = (2 * zfour - 5 * zsquared) * _PI_SQUARED / 4
    k2c = _PI_FOUR * (1 - 2 * zsquared) / 16
    k3d = _PI_SIX * (5 - 30 * zsquared) / 64
    k3c = _PI_FOUR * (-60 * zsquared + 212 * zfour) / 16
    k3b = _PI_SQUARED * (135 * zfour - 96 * zsix) / 4
    k3a = -30 * zsix - 90 * z**8

    maxk = np.ceil(16 * z / np.pi).astype(np.int64)
    terms = np.zeros((4, x.size))
    # Horner over odd m = 2k - 1, from each element's own maxk down to 1 (as scipy does).
    for k in range(int(maxk.max()), 0, -1):
        active = k <= maxk
        m = 2 * k - 1
        msquared, mfour, msix = m**2, m**4, m**6
        qpower = np.power(q, 8 * k)
        coeffs = np.stack(
            [
                np.ones_like(z),
                k1a + k1b * msquared,
                k2a + k2b * msquared + k2c * mfour,
                k3a + k3b * msquared + k3c * mfour + k3d * msix,
            ]
        )
        terms = np.where(active, terms * qpower + coeffs, terms)
    terms *= q
    terms *= _SQRT2PI
    terms /= np.stack([z, 6 * zfour, 72 * z**7, 6480 * z**10])

    q2 = np.exp(-_PI_SQUARED / 2 / zsquared)
    ks = np.arange(int(maxk.max()), 0, -1)[:, None]
    ksquared = ks**2
    used = ks <= maxk  # zero terms for k above an element's maxk leave its sum unchanged
    qpowers = np.where(used, q2**ksquared, 0.0)
    k2extra = np.sum(ksquared * qpowers, axis=0)
    k2extra *= _PI_SQUARED * _SQRT2PI / (-36 * zthree)
    terms[2] += k2extra
    sqrt3z = _SQRT3 * z
    kspi = np.pi * ks
    k3extra = np.sum((sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpowers, axis=0)
    k3extra *= _PI_SQUARED * _SQRT2PI / (216 * zsix)
    terms[3] += k3extra
    terms /= np.power(n * 1.0, np.arange(4) / 2.0)[:, None]
    cdf = ((terms[0] + terms[1]) + terms[2]) + terms[3]
    return np.where(underflow, 0.0, cdf)
