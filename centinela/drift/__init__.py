"""Drift statistics for Centinela: pure functions and small classes, no Kafka, no MLflow.

- :mod:`~centinela.drift.summary`: :class:`WindowSummary`, the mergeable, deduplicated summary of
  one window of one model version (its cell codes: :mod:`~centinela.drift.layout`; its
  tables: :mod:`~centinela.drift.summary_tables`).
- :mod:`~centinela.drift.config`: :class:`DriftConfig` (the tests, levels and thresholds) and
  :class:`PolicyConfig` (the retrain policy), what the library is told; it never reads the
  process's settings (``from_settings`` builds either from them).
- :mod:`~centinela.drift.calculator`: :func:`compute_drift`, a window's :class:`DriftReport`;
  with :mod:`~centinela.drift.challenger` (:func:`compare`), the shadow challenger's realised
  performance beside the champion's on the same events.
- :mod:`~centinela.drift.statistical_tests`: the tests by name (``ks``, ``psi``, ``wasserstein``,
  ``js``, ``chi2``), built on :mod:`~centinela.drift.ks` (with :mod:`~centinela.drift.kolmogorov`),
  :mod:`~centinela.drift.wasserstein`, :mod:`~centinela.drift.histogram`,
  :mod:`~centinela.drift.chi2`; :mod:`~centinela.drift.correction` (Bonferroni, Benjamini-Hochberg);
  :mod:`~centinela.drift.performance`.
- :mod:`~centinela.drift.concept`: :class:`ConceptMonitor`, river detectors on the error stream.
- :mod:`~centinela.drift.policy`: :class:`RetrainPolicy`, when to ask for a challenger.
"""

from centinela.drift.calculator import compute_drift
from centinela.drift.concept import DETECTORS, ConceptMonitor
from centinela.drift.config import DriftConfig, PolicyConfig
from centinela.drift.correction import CORRECTIONS, reject
from centinela.drift.exceptions import (
    DriftError,
    SummaryMismatchError,
    UnknownClassError,
    UnknownTestError,
)
from centinela.drift.ks import KsResult, ks_2samp
from centinela.drift.policy import RetrainPolicy
from centinela.drift.statistical_tests import DRIFT_TESTS, get_test
from centinela.drift.summary import WindowSummary

__all__ = [
    "CORRECTIONS",
    "DETECTORS",
    "DRIFT_TESTS",
    "ConceptMonitor",
    "DriftConfig",
    "DriftError",
    "KsResult",
    "PolicyConfig",
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
