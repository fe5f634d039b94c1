"""Chi-square test of homogeneity: do the reference and the window share one distribution?

The 2 x k table (reference counts, window counts) is tested as
``scipy.stats.chi2_contingency(table)`` does (default ``correction=True``: Yates' correction
when the table has one degree of freedom), after dropping cells that are empty in both rows
(scipy refuses zero expected counts). Comparing two samples, rather than the window against
reference proportions taken as exact (``scipy.stats.chisquare``), keeps the reference's own
sampling noise from inflating the false-alarm rate. A category never seen in the reference is a
cell with a zero reference count: it counts toward the statistic like any other.

>>> from scipy import stats
>>> table = [[30, 50, 20], [25, 40, 45]]
>>> ours = chi2_homogeneity(table[0], table[1])
>>> theirs = stats.chi2_contingency(table)
>>> bool(abs(ours.statistic - theirs.statistic) < 1e-12)
True
>>> bool(abs(ours.pvalue - theirs.pvalue) < 1e-12)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class Chi2Result:
    statistic: float
    pvalue: float
    dof: int


def chi2_homogeneity(
    reference_counts: Sequence[float] | np.ndarray,
    window_counts: Sequence[float] | np.ndarray,
    *,
    correction: bool = True,
) -> Chi2Result:
    observed = np.array([reference_counts, window_counts], dtype=np.float64)
    observed = observed[:, observed.sum(axis=0) > 0]
    if observed.shape[1] < 2 or np.any(observed.sum(axis=1) == 0):
        # One cell or an empty row: nothing to compare (scipy returns 0 and 1 for dof 0).
        return Chi2Result(0.0, 1.0, 0)
    row_sums = observed.sum(axis=1, keepdims=True)
    col_sums = observed.sum(axis=0, keepdims=True)
    expected = row_sums * col_sums / observed.sum()
    dof = observed.shape[1] - 1
    if dof == 1 and correction:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return Chi2Result(statistic, float(special.chdtrc(dof, statistic)), dof)
