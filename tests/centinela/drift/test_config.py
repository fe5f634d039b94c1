"""The drift library's config objects: their defaults are the settings' defaults."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import centinela.drift
from centinela.contract.settings import Settings
from centinela.drift.config import DriftConfig, PolicyConfig


@pytest.fixture
def default_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings from their defaults alone (no env file, no CENTINELA_* variables)."""
    for key in list(os.environ):
        if key.upper().startswith("CENTINELA_"):
            monkeypatch.delenv(key)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_drift_config_defaults_are_the_settings_defaults(default_settings: Settings) -> None:
    assert DriftConfig.from_settings(default_settings) == DriftConfig()


def test_policy_config_defaults_are_the_settings_defaults(default_settings: Settings) -> None:
    assert PolicyConfig.from_settings(default_settings) == PolicyConfig()


def test_from_settings_carries_every_changed_value() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        drift_numeric_test="psi",
        drift_categorical_test="js",
        drift_alpha=0.05,
        drift_correction="bh",
        drift_ks_method="exact",
        psi_threshold=0.3,
        js_threshold=0.2,
        wasserstein_threshold=0.4,
        concept_alpha=0.01,
        drift_min_events=50,
        concept_min_labels=30,
        policy_min_drifted_features=3,
        policy_consecutive_windows=4,
        policy_cooldown_seconds=60.0,
        policy_min_labeled=10,
        concept_detector="ddm",
        policy_retrain_on_data_drift=True,
    )
    assert DriftConfig.from_settings(settings) == DriftConfig(
        numeric_test="psi",
        categorical_test="js",
        alpha=0.05,
        correction="bh",
        ks_method="exact",
        psi_threshold=0.3,
        js_threshold=0.2,
        wasserstein_threshold=0.4,
        concept_alpha=0.01,
        min_events=50,
        min_labels=30,
    )
    assert PolicyConfig.from_settings(settings) == PolicyConfig(
        min_drifted_features=3,
        consecutive_windows=4,
        cooldown_seconds=60.0,
        min_labeled=10,
        concept_detector="ddm",
        retrain_on_data_drift=True,
    )


def test_the_drift_library_does_not_import_the_settings() -> None:
    folder = Path(centinela.drift.__file__).parent
    imports = re.compile(r"^\s*(from|import)\s+centinela\.contract\.settings\b", re.MULTILINE)
    importing = [
        path.name
        for path in sorted(folder.glob("*.py"))
        if imports.search(path.read_text(encoding="utf-8"))
    ]
    assert importing == []


def test_the_performance_test_spends_its_share_of_the_false_alarm_budget() -> None:
    config = DriftConfig(false_alarm_budget_events=1_000_000, concept_alpha=0.01)
    # Half the budget over the windows, in proportion to their labels: the expected number of
    # false drops over a budget's worth of labels is 1/2, whatever the window size.
    assert config.concept_level(2_000) == 0.001
    assert config.concept_level(500) == 0.00025
    assert sum(config.concept_level(2_000) for _ in range(500)) == pytest.approx(0.5)
    assert config.concept_level(10**9) == 0.01  # never above the configured ceiling
