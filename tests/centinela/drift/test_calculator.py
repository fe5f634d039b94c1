"""compute_drift: the window report, its detections and its false-alarm rate."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as sk

from centinela.contract.records import DriftReport
from centinela.drift.calculator import compute_drift
from centinela.drift.config import DriftConfig
from centinela.drift.exceptions import SummaryMismatchError
from centinela.drift.summary import WindowSummary
from centinela.models.profile import ReferenceProfile
from stream.alerts import alerts_for
from tests.centinela.drift.factories import T0, gaussian_frame, predictions_for

MakeSummary = Callable[..., WindowSummary]
MakeProfile = Callable[..., ReferenceProfile]


def test_report_of_a_stable_window(make_profile: MakeProfile, make_summary: MakeSummary) -> None:
    profile = make_profile(5)
    frame = gaussian_frame(2000, 5, seed=101)
    summary = make_summary(profile, frame, window_id=3)
    report = compute_drift(summary, profile, DriftConfig(), model_name="churn")
    assert (report.model_name, report.model_version, report.window_id) == ("churn", "1", 3)
    assert report.n_events == 2000 and report.n_labeled == 0
    assert [f.feature for f in report.features] == ["x0", "x1", "x2", "x3", "x4", "colour"]
    assert [f.test for f in report.features] == ["ks"] * 5 + ["chi2"]
    assert report.drifted_features == () and not report.data_drift and not report.concept_drift
    assert report.prediction is not None and not report.prediction.drifted
    assert report.correction == "bonferroni" and report.alpha == 0.01
    assert report.performance == {} and report.label_coverage == 0.0
    assert report.label_delay_seconds is None
    # the reported statistics are scipy's on the reference sample and the window
    x2 = report.features[2]
    expected = stats.ks_2samp(profile.reference_sample["x2"], frame["x2"], method="asymp")
    assert x2.statistic == expected.statistic
    assert abs(x2.p_value - expected.pvalue) <= 1e-12  # type: ignore[operator]
    assert x2.distance == pytest.approx(
        stats.wasserstein_distance(profile.reference_sample["x2"], frame["x2"]), rel=1e-12
    )
    assert x2.psi is not None and x2.psi < 0.05


def test_half_sd_mean_shift_in_one_feature_is_detected_alone(
    make_profile: MakeProfile, make_summary: MakeSummary
) -> None:
    profile = make_profile(20, n=10_000)
    frame = gaussian_frame(2000, 20, seed=202, shift={7: 0.5})
    report = compute_drift(make_summary(profile, frame), profile, DriftConfig(), model_name="m")
    assert report.drifted_features == ("x7",)
    assert report.data_drift
    x7 = next(f for f in report.features if f.feature == "x7")
    assert x7.p_value is not None and x7.p_value < 1e-20
    assert x7.psi is not None and x7.psi > 0.1


def test_unseen_categories_and_prediction_drift(
    make_profile: MakeProfile, make_summary: MakeSummary
) -> None:
    profile = make_profile(2)
    frame = gaussian_frame(1000, 2, seed=303)
    frame.loc[:99, "colour"] = "purple"
    frame["x0"] = np.abs(frame["x0"])  # the model now says 1 for everyone
    report = compute_drift(make_summary(profile, frame), profile, DriftConfig(), model_name="m")
    colour = next(f for f in report.features if f.feature == "colour")
    assert colour.unseen_categories == 100 and colour.drifted
    assert report.prediction is not None and report.prediction.drifted
    assert report.prediction.p_value is not None and report.prediction.p_value < 1e-50
    assert "x0" in report.drifted_features and "colour" in report.drifted_features


def _labeled_summary(
    profile: ReferenceProfile, make_summary: MakeSummary, *, error_rate: float, seed: int
) -> tuple[WindowSummary, np.ndarray, np.ndarray, np.ndarray]:
    frame = gaussian_frame(1000, 3, seed=seed)
    summary = make_summary(profile, frame)
    predicted = predictions_for(frame)
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(1000) < error_rate, 1 - predicted, predicted)
    p1 = np.clip(np.where(predicted == 1, 0.8, 0.2) + rng.normal(0, 0.1, 1000), 0.01, 0.99)
    proba = np.column_stack([1 - p1, p1])
    ids = [f"e{i}" for i in range(1000)]
    summary.add_outcomes(ids[:800], predicted[:800], labels[:800], proba[:800], [30.0] * 800)
    return summary, labels[:800], predicted[:800], proba[:800]


def test_performance_metrics_and_no_drop_at_baseline(
    make_profile: MakeProfile, make_summary: MakeSummary
) -> None:
    profile = make_profile(3, accuracy=0.9)
    summary, labels, predicted, proba = _labeled_summary(
        profile, make_summary, error_rate=0.1, seed=404
    )
    report = compute_drift(summary, profile, DriftConfig(), model_name="m")
    perf = report.performance
    assert perf["accuracy"] == pytest.approx(sk.accuracy_score(labels, predicted))
    assert perf["f1"] == pytest.approx(sk.f1_score(labels, predicted))
    assert perf["log_loss"] == pytest.approx(sk.log_loss(labels, proba))
    assert perf["roc_auc"] == pytest.approx(sk.roc_auc_score(labels, proba[:, 1]))
    assert perf["baseline_accuracy"] == profile.baseline_metrics["accuracy"]
    assert perf["error_rate_p_value"] > 0.001 and perf["performance_drop"] == 0.0
    assert not report.concept_drift
    assert report.label_coverage == 0.8 and report.label_delay_seconds == 30.0


def test_error_rate_jump_is_a_performance_drop(
    make_profile: MakeProfile, make_summary: MakeSummary
) -> None:
    profile = make_profile(3, accuracy=0.9)
    summary, *_ = _labeled_summary(profile, make_summary, error_rate=0.3, seed=505)
    report = compute_drift(summary, profile, DriftConfig(), model_name="m")
    assert report.performance["performance_drop"] == 1.0
    assert report.performance["error_rate_p_value"] < 1e-20
    assert report.concept_drift


@pytest.mark.parametrize(
    "numeric,categorical,psi_of_x3",
    [("psi", "psi", True), ("js", "js", True), ("wasserstein", "chi2", True)],
)
def test_threshold_tests_by_name(
    make_profile: MakeProfile,
    make_summary: MakeSummary,
    numeric: str,
    categorical: str,
    psi_of_x3: bool,
) -> None:
    config = DriftConfig(numeric_test=numeric, categorical_test=categorical)
    profile = make_profile(4, n=6000)
    frame = gaussian_frame(2000, 4, seed=606, shift={3: 1.0})
    report = compute_drift(make_summary(profile, frame), profile, config, model_name="m")
    assert {f.test for f in report.features if f.kind == "numeric"} == {numeric}
    assert {f.test for f in report.features if f.kind == "categorical"} == {categorical}
    assert "x3" in report.drifted_features
    assert set(report.drifted_features) <= {"x0", "x3"}  # x0 drives the prediction only
    x3 = next(f for f in report.features if f.feature == "x3")
    if numeric == "wasserstein":
        assert x3.distance == pytest.approx(x3.statistic * np.std(profile.sorted_samples["x3"]))
        assert x3.p_value is None


def test_exact_ks_method_matches_scipy_exact(
    make_profile: MakeProfile, make_summary: MakeSummary
) -> None:
    profile = make_profile(2, n=1500)
    frame = gaussian_frame(400, 2, seed=707)
    config = DriftConfig(ks_method="exact")
    report = compute_drift(make_summary(profile, frame), profile, config, model_name="m")
    expected = stats.ks_2samp(profile.reference_sample["x1"], frame["x1"], method="exact")
    x1 = report.features[1]
    assert x1.statistic == expected.statistic
    assert abs(x1.p_value - expected.pvalue) <= 1e-12  # type: ignore[operator]


def test_empty_window_and_foreign_profile(
    make_profile: MakeProfile, make_summary: MakeSummary
) -> None:
    profile = make_profile(2)
    report = compute_drift(make_summary(profile), profile, DriftConfig(), model_name="m")
    assert report.n_events == 0 and report.features == () and report.prediction is None
    assert report.label_coverage is None and not report.data_drift
    with pytest.raises(SummaryMismatchError, match="another reference profile"):
        compute_drift(make_summary(profile), make_profile(3), DriftConfig(), model_name="m")


@pytest.mark.parametrize("correction", ["bonferroni", "bh"])
def test_no_drift_false_alarm_rate_is_the_configured_one(
    make_profile: MakeProfile, correction: str
) -> None:
    """200 stable windows of 10 numeric features + colour + prediction: a window raises a
    false alarm with probability <= alpha (family-wise), not ~1 - (1 - alpha)**12."""
    alpha = 0.05
    config = DriftConfig(alpha=alpha, correction=correction)
    profile = make_profile(10, n=4000)
    rng = np.random.default_rng(808)
    alarms, raw_alarms = 0, 0
    for window_id in range(200):
        frame = pd.DataFrame({f"x{j}": rng.normal(size=300) for j in range(10)})
        frame["colour"] = rng.choice(["red", "green", "blue"], size=300, p=[0.5, 0.3, 0.2])
        summary = WindowSummary.empty(
            profile,
            model_version="1",
            window_id=window_id,
            window_start=T0,
            window_end=T0,
            exact_cap=1000,
        )
        summary.add_events([f"w{window_id}-{i}" for i in range(300)], frame, predictions_for(frame))
        report = compute_drift(summary, profile, config, model_name="m")
        assert report.prediction is not None
        flagged = report.data_drift or report.prediction.drifted
        alarms += flagged
        p_values = [f.p_value for f in (*report.features, report.prediction)]
        raw_alarms += any(p is not None and p <= alpha for p in p_values)
    assert alarms <= 3 * alpha * 200  # <= 30 of 200; expected <= 10
    assert raw_alarms > 0.25 * 200  # uncorrected, a third of the windows would alarm


def test_a_two_event_window_that_would_be_flagged_gets_no_verdict_and_says_why(
    make_profile: MakeProfile, make_summary: MakeSummary
) -> None:
    """Two events with an unseen category, both labeled and both wrong: with no minimum the
    window is flagged for data drift and (at a 0.05 level) a performance drop; with the default
    minimums (100 events, 100 labels) neither test runs, nothing is flagged or alerted, and the
    report names the withheld verdicts."""
    profile = make_profile(2, accuracy=0.9)
    frame = gaussian_frame(2, 2, seed=909)
    frame["colour"] = "purple"
    summary = make_summary(profile, frame)
    predicted = predictions_for(frame)
    summary.add_outcomes(["e0", "e1"], predicted, 1 - predicted, None, [1.0, 1.0])

    # A budget of one label puts the level at its ceiling, concept_alpha, whatever the window.
    eager = DriftConfig(
        concept_alpha=0.05, min_events=0, min_labels=0, false_alarm_budget_events=1.0
    )
    flagged = compute_drift(summary, profile, eager, model_name="m")
    assert flagged.data_drift and "colour" in flagged.drifted_features
    assert flagged.performance["performance_drop"] == 1.0 and flagged.concept_drift
    assert flagged.verdicts_withheld == ()

    report = compute_drift(summary, profile, DriftConfig(concept_alpha=0.05), model_name="m")
    assert report.verdicts_withheld == ("data", "performance")
    assert not report.data_drift and not report.concept_drift
    assert report.drifted_features == () and report.features == () and report.prediction is None
    assert "performance_drop" not in report.performance
    assert "error_rate_p_value" not in report.performance
    assert report.performance["accuracy"] == 0.0  # still described, not tested
    assert report.n_events == 2 and report.n_labeled == 2
    assert alerts_for(report) == []
    # the report survives the wire with its reason
    decoded = DriftReport.model_validate_json(report.model_dump_json())
    assert decoded.verdicts_withheld == ("data", "performance")


def test_each_minimum_withholds_only_its_own_verdict(
    make_profile: MakeProfile, make_summary: MakeSummary
) -> None:
    profile = make_profile(3, accuracy=0.9)
    summary, *_ = _labeled_summary(profile, make_summary, error_rate=0.3, seed=606)  # 1,000 / 800
    few_labels = compute_drift(summary, profile, DriftConfig(min_labels=801), model_name="m")
    assert few_labels.verdicts_withheld == ("performance",)
    assert few_labels.features and not few_labels.concept_drift
    few_events = compute_drift(summary, profile, DriftConfig(min_events=1001), model_name="m")
    assert few_events.verdicts_withheld == ("data",) and few_events.features == ()
    assert few_events.performance["performance_drop"] == 1.0 and few_events.concept_drift


def test_an_old_report_without_the_field_still_decodes() -> None:
    old = {
        "schema_version": 1, "model_name": "m", "model_version": "1", "window_id": 4,
        "window_start": "2026-01-01T00:00:00Z", "window_end": "2026-01-01T00:00:20Z",
        "n_events": 2000, "n_labeled": 0, "data_drift": True, "drifted_features": ["x0"],
    }  # fmt: skip
    report = DriftReport.model_validate(old)
    assert report.verdicts_withheld == () and report.data_drift
