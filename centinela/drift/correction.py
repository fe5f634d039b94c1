"""Multiple-testing correction across the tests of one window.

A window runs one test per feature (and one on the predictions). Testing each at ``alpha``
would raise a false alarm in most windows once there are dozens of features; the correction
keeps the chance of any false alarm in a window (Bonferroni: family-wise error rate) or the
expected share of false discoveries (Benjamini-Hochberg) at ``alpha``.

>>> reject([0.001, 0.02, 0.04, 0.5], alpha=0.05, method="bonferroni")
[True, False, False, False]
>>> reject([0.001, 0.02, 0.04, 0.5], alpha=0.05, method="bh")
[True, True, False, False]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from centinela.drift.exceptions import UnknownTestError

CORRECTIONS: tuple[str, ...] = ("bonferroni", "bh")


def reject(p_values: Sequence[float], *, alpha: float, method: str) -> list[bool]:
    """Which hypotheses to reject, in the order given."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return []
    if method == "bonferroni":
        return (p <= alpha / m).tolist()
    if method == "bh":
        return (stats.false_discovery_control(p, method="bh") <= alpha).tolist()
    raise UnknownTestError(f"unknown correction {method!r}; known: {', '.join(CORRECTIONS)}")
