"""What the drift library is told: the tests, levels and thresholds, and the retrain policy.

The library never reads the process's settings: a caller builds these small objects once
(:meth:`DriftConfig.from_settings`, :meth:`PolicyConfig.from_settings` take anything with the
``CENTINELA_*`` settings' attribute names) and passes them down, so a test or a notebook can
configure one window's tests without a whole :class:`~centinela.contract.settings.Settings`.

>>> DriftConfig().numeric_test, DriftConfig(alpha=0.05).alpha
('ks', 0.05)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from centinela.drift.ks import KsMethod


@dataclass(frozen=True)
class DriftConfig:
    """How one window is tested (the defaults are the settings' defaults)."""

    numeric_test: str = "ks"
    categorical_test: str = "chi2"
    alpha: float = 0.01  # the family-wise (Bonferroni) or false-discovery (BH) level
    correction: str = "bonferroni"
    ks_method: KsMethod = "asymp"
    psi_threshold: float = 0.2
    js_threshold: float = 0.1  # Jensen-Shannon distance, base 2
    wasserstein_threshold: float = 0.1  # in reference standard deviations
    concept_alpha: float = 0.001  # the error-rate test's highest level, per window
    # Labeled events expected between two false retrain requests under no drift: the budget
    # each window's performance test spends a share of (see concept_level).
    false_alarm_budget_events: float = 10_000_000.0
    # An estimated accuracy this far below the baseline raises an alert (not a retrain request).
    estimated_drop_tolerance: float = 0.05

    def concept_level(self, n_labeled: int) -> float:
        """The performance-drop test's level for a window of ``n_labeled`` labels: its share
        of half the false-alarm budget (the sequential detector has the other half), so that
        over ``false_alarm_budget_events`` labels the expected number of false drops is 1/2,
        whatever the window size or the label rate; never above ``concept_alpha``.

        >>> DriftConfig().concept_level(2000)
        0.0001
        >>> DriftConfig().concept_level(10**8)
        0.001
        """
        share = n_labeled / (2.0 * self.false_alarm_budget_events)
        return min(self.concept_alpha, share)

    def detector_params(self, detector: str) -> dict[str, Any]:
        """The sequential detector's share of the budget. ADWIN's false detections on a stable
        0/1 error stream were measured at about one per 10,000,000 labels at river's delta
        0.002 (bench/bench_false_alarms.py) and scale with delta: half a budget of ``B``
        labels is delta = 10,000 / B (0.001 at the default), never above river's 0.002. Other
        detectors keep river's defaults (their share is not calibrated).

        >>> DriftConfig().detector_params("adwin")
        {'delta': 0.001}
        """
        if detector != "adwin":
            return {}
        return {"delta": min(0.002, 10_000.0 / self.false_alarm_budget_events)}

    min_events: int = 100  # fewer events: no data- or prediction-drift verdict
    min_labels: int = 100  # fewer labeled outcomes: no performance-drop verdict

    @classmethod
    def from_settings(cls, settings: Any) -> DriftConfig:
        return cls(
            numeric_test=settings.drift_numeric_test,
            categorical_test=settings.drift_categorical_test,
            alpha=settings.drift_alpha,
            correction=settings.drift_correction,
            ks_method=settings.drift_ks_method,
            psi_threshold=settings.psi_threshold,
            js_threshold=settings.js_threshold,
            wasserstein_threshold=settings.wasserstein_threshold,
            concept_alpha=settings.concept_alpha,
            false_alarm_budget_events=settings.false_alarm_budget_events,
            estimated_drop_tolerance=settings.estimated_drop_tolerance,
            min_events=settings.drift_min_events,
            min_labels=settings.concept_min_labels,
        )


@dataclass(frozen=True)
class PolicyConfig:
    """When the retrain policy asks for a challenger (the defaults are the settings')."""

    min_drifted_features: int = 2
    consecutive_windows: int = 2
    cooldown_seconds: float = 3600.0
    min_labeled: int = 500
    concept_detector: str = "adwin"
    retrain_on_data_drift: bool = False  # data drift alone alerts; it asks for no challenger

    @classmethod
    def from_settings(cls, settings: Any) -> PolicyConfig:
        return cls(
            min_drifted_features=settings.policy_min_drifted_features,
            consecutive_windows=settings.policy_consecutive_windows,
            cooldown_seconds=settings.policy_cooldown_seconds,
            min_labeled=settings.policy_min_labeled,
            concept_detector=settings.concept_detector,
            retrain_on_data_drift=settings.policy_retrain_on_data_drift,
        )
