"""The windowed performance-drop test is honest about its baseline: Fisher's exact test of the
window's errors against the baseline's holds its level whatever the baseline and window sizes,
and still sees a 10-point accuracy drop in one window of 2,000 labels.

Everything here is exact counts drawn from seeded generators: no timing, no flakiness.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from centinela.drift.calculator import compute_drift
from centinela.drift.config import DriftConfig
from centinela.drift.performance import (
    error_rate_pvalue,
    error_rate_vs_baseline_pvalue,
    fisher_greater_pvalues,
)
from centinela.drift.summary import WindowSummary
from centinela.models.profile import ReferenceProfile, build_profile
from tests.centinela.drift.factories import T0, WINDOW, gaussian_frame, predictions_for

BASELINE_SIZES = (500, 1_000, 2_500, 5_000, 10_000)
WINDOW_SIZES = (200, 500, 2_000, 5_000, 20_000)
ACCURACY = 0.85


def _margin(alpha: float, trials: int) -> float:
    """Three binomial standard deviations of a rate measured on ``trials`` windows."""
    return 3.0 * float(np.sqrt(alpha * (1.0 - alpha) / trials))


def test_the_p_value_is_scipys_one_sided_fisher_exact_test() -> None:
    for errors, n, baseline_errors, baseline_n in [
        (30, 100, 20, 100),
        (320, 2_000, 75, 500),
        (3, 200, 1_500, 10_000),
        (1, 1, 0, 3),
    ]:
        table = [[errors, n - errors], [baseline_errors, baseline_n - baseline_errors]]
        expected = stats.fisher_exact(table, alternative="greater").pvalue
        got = error_rate_vs_baseline_pvalue(
            errors=errors, n=n, baseline_errors=baseline_errors, baseline_n=baseline_n
        )
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert error_rate_vs_baseline_pvalue(errors=0, n=50, baseline_errors=5, baseline_n=50) == 1.0
    assert error_rate_vs_baseline_pvalue(errors=5, n=50, baseline_errors=0, baseline_n=0) == 1.0


@pytest.mark.parametrize("accuracy", [ACCURACY, 0.95])
def test_without_drift_the_flagged_rate_is_at_or_below_the_level_for_every_size(
    accuracy: float,
) -> None:
    """Over a grid of baseline sizes (500..10,000 validation rows) and window sizes (200..20,000
    labels), with the model exactly as good as on validation data, at most ``alpha`` of the
    windows are flagged (plus a binomial margin). The old test, which took the baseline as
    exact, flags many more as the window grows."""
    alpha, trials = 0.05, 2_000
    rng = np.random.default_rng(20261127)
    error = 1.0 - accuracy
    flagged_total, old_flagged = 0, {}
    for baseline_n in BASELINE_SIZES:
        for n in WINDOW_SIZES:
            baseline_errors = rng.binomial(baseline_n, error, trials)
            errors = rng.binomial(n, error, trials)
            p_values = fisher_greater_pvalues(errors, n, baseline_errors, baseline_n)
            flagged = int(np.count_nonzero(p_values < alpha))
            assert flagged / trials <= alpha + _margin(alpha, trials), (baseline_n, n, flagged)
            flagged_total += flagged
            old = [
                error_rate_pvalue(errors=int(e), n=n, baseline_error=int(b) / baseline_n)
                for e, b in zip(errors[:500], baseline_errors[:500], strict=True)
            ]
            old_flagged[(baseline_n, n)] = sum(p < alpha for p in old) / 500
    cells = len(BASELINE_SIZES) * len(WINDOW_SIZES)
    assert flagged_total / (cells * trials) <= alpha + _margin(alpha, cells * trials)
    assert old_flagged[(500, 20_000)] > 4 * alpha  # what the exact-baseline test did


def test_at_the_default_level_the_largest_cells_stay_at_or_below_it() -> None:
    """alpha = 0.001 on the cells where the exact-baseline test was worst (9% and 3.8% flagged
    in the issue's simulation): no more than the level allows."""
    alpha, trials = DriftConfig().concept_alpha, 10_000
    rng = np.random.default_rng(7)
    for baseline_n, n in [(500, 2_000), (500, 20_000), (10_000, 20_000)]:
        baseline_errors = rng.binomial(baseline_n, 1 - ACCURACY, trials)
        errors = rng.binomial(n, 1 - ACCURACY, trials)
        p_values = fisher_greater_pvalues(errors, n, baseline_errors, baseline_n)
        assert np.count_nonzero(p_values < alpha) / trials <= alpha + _margin(alpha, trials)


@pytest.mark.parametrize("baseline_n,least_detected", [(500, 0.93), (1_000, 0.99), (2_500, 0.999)])
def test_a_ten_point_drop_is_detected_in_one_window_of_2000_labels(
    baseline_n: int, least_detected: float
) -> None:
    alpha, trials, n = DriftConfig().concept_alpha, 2_000, 2_000
    rng = np.random.default_rng(baseline_n)
    baseline_errors = rng.binomial(baseline_n, 1 - ACCURACY, trials)
    errors = rng.binomial(n, 1 - (ACCURACY - 0.10), trials)
    detected = np.count_nonzero(
        fisher_greater_pvalues(errors, n, baseline_errors, baseline_n) < alpha
    )
    assert detected / trials >= least_detected
    # the expected counts themselves are far past the level
    typical = error_rate_vs_baseline_pvalue(
        errors=500, n=n, baseline_errors=round(0.15 * baseline_n), baseline_n=baseline_n
    )
    assert typical < 1e-5


def _profile(n: int, accuracy: float, seed: int) -> ReferenceProfile:
    frame = gaussian_frame(n, 3, seed=seed)
    predicted = predictions_for(frame)
    wrong = np.random.default_rng(seed + 1).random(n) > accuracy
    labels = np.where(wrong, 1 - predicted, predicted)
    return build_profile(frame, predicted, classes=[0, 1], labels=labels, sample_size=n)


def _window(profile: ReferenceProfile, *, n: int, labeled: int, error: float, seed: int):
    frame = gaussian_frame(n, 3, seed=seed)
    predicted = predictions_for(frame)
    summary = WindowSummary.empty(
        profile, model_version="1", window_id=0, window_start=T0, window_end=T0 + WINDOW,
        exact_cap=20_000,
    )  # fmt: skip
    ids = [f"e{i}" for i in range(n)]
    summary.add_events(ids, frame, predicted)
    wrong = np.random.default_rng(seed).random(labeled) < error
    labels = np.where(wrong, 1 - predicted[:labeled], predicted[:labeled])
    summary.add_outcomes(ids[:labeled], predicted[:labeled], labels, None, [1.0] * labeled)
    return summary


def test_compute_drift_tests_the_window_against_the_profiles_counts() -> None:
    profile = _profile(500, ACCURACY, seed=31)
    assert profile.baseline_rows == 500 and profile.baseline_errors is not None
    accuracy = profile.baseline_metrics["accuracy"]
    assert profile.baseline_errors == round(500 * (1 - accuracy))
    dropped = compute_drift(
        _window(profile, n=2_000, labeled=2_000, error=1 - (accuracy - 0.10), seed=32),
        profile,
        DriftConfig(),
        model_name="m",
    )
    perf = dropped.performance
    errors = round(perf["error_rate"] * 2_000)
    assert perf["error_rate_p_value"] == error_rate_vs_baseline_pvalue(
        errors=errors, n=2_000, baseline_errors=profile.baseline_errors, baseline_n=500
    )
    assert perf["performance_drop"] == 1.0 and dropped.concept_drift
    assert perf["baseline_rows"] == 500.0
    steady = compute_drift(
        _window(profile, n=2_000, labeled=2_000, error=1 - accuracy, seed=33),
        profile,
        DriftConfig(),
        model_name="m",
    )
    assert steady.performance["performance_drop"] == 0.0 and not steady.concept_drift


def test_a_profile_without_counts_is_tested_as_exact_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    legacy = replace(_profile(1_000, ACCURACY, seed=41), baseline_rows=None, baseline_errors=None)
    legacy = ReferenceProfile.from_json(legacy.to_json())  # as read from an old artifact

    def window(seed: int) -> WindowSummary:
        return _window(legacy, n=1_000, labeled=1_000, error=0.2, seed=seed)

    with caplog.at_level(logging.WARNING, logger="centinela.drift.calculator"):
        reports = [compute_drift(window(s), legacy, DriftConfig(), model_name="m") for s in (1, 2)]
    warnings = [r for r in caplog.records if "treated as exact" in r.getMessage()]
    assert len(warnings) == 1
    baseline_error = 1.0 - legacy.baseline_metrics["accuracy"]
    for report in reports:
        perf = report.performance
        errors = round(perf["error_rate"] * 1_000)
        assert perf["error_rate_p_value"] == error_rate_pvalue(
            errors=errors, n=1_000, baseline_error=baseline_error
        )
        assert "baseline_rows" not in perf
