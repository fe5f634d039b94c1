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
    concept_alpha: float = 0.001  # the error-rate test against the baseline
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
