"""Drift statistics for Centinela: pure functions and small classes, no Kafka, no MLflow.

- :mod:`~stream.drift.summary`: :class:`WindowSummary`, the mergeable, deduplicated summary of
  one window of one model version (its cell codes: :mod:`~stream.drift.layout`).
- :mod:`~stream.drift.calculator`: :func:`compute_drift`, a window's :class:`DriftReport`.
- :mod:`~stream.drift.registry`: the tests by name (``ks``, ``psi``, ``wasserstein``, ``js``,
  ``chi2``), built on :mod:`~stream.drift.ks` (with :mod:`~stream.drift.kolmogorov`),
  :mod:`~stream.drift.wasserstein`, :mod:`~stream.drift.histogram`, :mod:`~stream.drift.chi2`;
  :mod:`~stream.drift.correction` (Bonferroni, Benjamini-Hochberg); :mod:`~stream.drift.metrics`.
- :mod:`~stream.drift.concept`: :class:`ConceptMonitor`, river detectors on the error stream.
- :mod:`~stream.drift.policy`: :class:`RetrainPolicy`, when to ask for a challenger.
"""

from stream.drift.calculator import compute_drift
from stream.drift.concept import DETECTORS, ConceptMonitor
from stream.drift.correction import CORRECTIONS, reject
from stream.drift.exceptions import (
    DriftError,
    SummaryMismatchError,
    UnknownClassError,
    UnknownTestError,
)
from stream.drift.ks import KsResult, ks_2samp
from stream.drift.policy import RetrainPolicy
from stream.drift.registry import DRIFT_TESTS, get_test
from stream.drift.summary import WindowSummary

__all__ = [
    "CORRECTIONS",
    "DETECTORS",
    "DRIFT_TESTS",
    "ConceptMonitor",
    "DriftError",
    "KsResult",
    "RetrainPolicy",
    "SummaryMismatchError",
    "UnknownClassError",
    "UnknownTestError",
    "WindowSummary",
    "compute_drift",
    "get_test",
    "ks_2samp",
    "reject",
]
