"""Drift tests registered by name, so that configuration can say ``"ks"`` or ``"psi"``.

A test takes a batch (all numeric, or all categorical, features of one window against the
reference) and the :class:`~centinela.drift.config.DriftConfig` (its thresholds), and returns
one :class:`Outcome` per feature: a statistic and either a p-value (the window's
multiple-testing correction then decides) or a threshold (the statistic above it is drift).
Batches compute the shared, costly parts once (:class:`NumericBatch`).

==============  ============  ===========================================================
name            kinds         decides by
==============  ============  ===========================================================
``ks``          numeric       two-sample Kolmogorov-Smirnov p-value (``ks_method``)
``wasserstein`` numeric       Wasserstein distance / reference std > ``wasserstein_threshold``
``psi``         both          population stability index > ``psi_threshold``
``js``          both          Jensen-Shannon distance (base 2) > ``js_threshold``
``chi2``        categorical   chi-square homogeneity p-value (reference vs window counts)
==============  ============  ===========================================================

>>> sorted(DRIFT_TESTS)
['chi2', 'js', 'ks', 'psi', 'wasserstein']
>>> get_test("ks", "categorical")
Traceback (most recent call last):
...
centinela.drift.exceptions.UnknownTestError: test 'ks' does not apply to categorical features; ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from centinela.drift.chi2 import chi2_homogeneity
from centinela.drift.config import DriftConfig
from centinela.drift.exceptions import UnknownTestError
from centinela.drift.histogram import js_many, psi_many
from centinela.drift.ks import KsMethod, ks_pvalue, ks_pvalues_asymp, ks_statistics
from centinela.drift.wasserstein import wasserstein_many


@dataclass(frozen=True)
class Outcome:
    statistic: float
    p_value: float | None = None
    threshold: float | None = None

    @property
    def over_threshold(self) -> bool:
        return self.threshold is not None and self.statistic > self.threshold


class HistogramBatch:
    """Reference and window counts on the same cells, one pair per feature."""

    def __init__(
        self,
        names: Sequence[str],
        reference_counts: Sequence[np.ndarray],
        window_counts: Sequence[np.ndarray],
    ) -> None:
        self.names = tuple(names)
        self.reference_counts = list(reference_counts)
        self.window_counts = list(window_counts)

    def __len__(self) -> int:
        return len(self.names)

    @cached_property
    def psi(self) -> list[float]:
        return psi_many(self.reference_counts, self.window_counts)

    @cached_property
    def js(self) -> list[float]:
        return js_many(self.reference_counts, self.window_counts)


class NumericBatch(HistogramBatch):
    """Numeric features: histograms plus the sorted reference sample and window subsample.

    ``reference`` is F x n1 and ``window`` F x n2, each row sorted; one ``searchsorted`` per
    feature serves both KS and Wasserstein.
    """

    def __init__(
        self,
        names: Sequence[str],
        reference_counts: Sequence[np.ndarray],
        window_counts: Sequence[np.ndarray],
        *,
        reference: np.ndarray,
        window: np.ndarray,
        reference_std: np.ndarray,
        ks_method: KsMethod = "asymp",
    ) -> None:
        super().__init__(names, reference_counts, window_counts)
        self.reference = reference
        self.window = window
        self.reference_std = reference_std
        self.ks_method = ks_method

    @cached_property
    def _ks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        stats = ks_statistics(self.reference, self.window)
        n1, n2 = self.reference.shape[1], self.window.shape[1]
        d = stats.two_sided()
        if self.ks_method == "asymp":
            return d, ks_pvalues_asymp(d, n1, n2), stats.left
        results = [ks_pvalue(float(v), n1, n2, method=self.ks_method) for v in d]
        d = np.array([r.statistic for r in results])
        return d, np.array([r.pvalue for r in results]), stats.left

    @property
    def ks_statistic(self) -> np.ndarray:
        return self._ks[0]

    @property
    def ks_pvalue(self) -> np.ndarray:
        return self._ks[1]

    @cached_property
    def wasserstein(self) -> np.ndarray:
        return wasserstein_many(self.reference, self.window, self._ks[2])


def _ks_test(batch: HistogramBatch, config: DriftConfig) -> list[Outcome]:
    assert isinstance(batch, NumericBatch)
    pairs = zip(batch.ks_statistic.tolist(), batch.ks_pvalue.tolist(), strict=True)
    return [Outcome(statistic=d, p_value=p) for d, p in pairs]


def _wasserstein_test(batch: HistogramBatch, config: DriftConfig) -> list[Outcome]:
    assert isinstance(batch, NumericBatch)
    scale = np.where(batch.reference_std > 0, batch.reference_std, 1.0)
    relative = (batch.wasserstein / scale).tolist()
    return [Outcome(statistic=v, threshold=config.wasserstein_threshold) for v in relative]


def _psi_test(batch: HistogramBatch, config: DriftConfig) -> list[Outcome]:
    return [Outcome(statistic=v, threshold=config.psi_threshold) for v in batch.psi]


def _js_test(batch: HistogramBatch, config: DriftConfig) -> list[Outcome]:
    return [Outcome(statistic=v, threshold=config.js_threshold) for v in batch.js]


def _chi2_test(batch: HistogramBatch, config: DriftConfig) -> list[Outcome]:
    outcomes = []
    for ref, win in zip(batch.reference_counts, batch.window_counts, strict=True):
        result = chi2_homogeneity(ref, win)
        outcomes.append(Outcome(statistic=result.statistic, p_value=result.pvalue))
    return outcomes


TestFunction = Callable[[HistogramBatch, DriftConfig], list[Outcome]]


@dataclass(frozen=True)
class DriftTest:
    name: str
    kinds: frozenset[str]
    run: TestFunction


DRIFT_TESTS: dict[str, DriftTest] = {
    test.name: test
    for test in (
        DriftTest("ks", frozenset({"numeric"}), _ks_test),
        DriftTest("wasserstein", frozenset({"numeric"}), _wasserstein_test),
        DriftTest("psi", frozenset({"numeric", "categorical"}), _psi_test),
        DriftTest("js", frozenset({"numeric", "categorical"}), _js_test),
        DriftTest("chi2", frozenset({"categorical"}), _chi2_test),
    )
}


def get_test(name: str, kind: str) -> DriftTest:
    test = DRIFT_TESTS.get(name)
    if test is None:
        raise UnknownTestError(f"unknown drift test {name!r}; known: {', '.join(DRIFT_TESTS)}")
    if kind not in test.kinds:
        usable = ", ".join(n for n, t in DRIFT_TESTS.items() if kind in t.kinds)
        raise UnknownTestError(
            f"test {name!r} does not apply to {kind} features; use one of {usable}"
        )
    return test
