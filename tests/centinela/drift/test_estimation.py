"""Performance before labels (CBPE): the estimate in a window's DriftReport, its error against the
realised metrics, and how it behaves with no drift, under covariate shift and under concept
change; exact under merging and deduplication, and readable from older summaries and reports.

The synthetic world: ``x0, x1`` normal, ``P(y = 1 | x) = sigmoid(2 x0 + x1)``. A window holds
4,000 events, all labeled in it, so the realised accuracy of a window has a standard deviation
of about 0.0065 around the model's true accuracy (at 0.8); the stated tolerances are in those
units.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from centinela.contract.records import DriftReport
from centinela.drift.calculator import compute_drift
from centinela.drift.config import DriftConfig
from centinela.drift.estimation import estimate_performance, estimation_errors
from centinela.drift.performance import performance
from centinela.drift.summary import WindowSummary
from centinela.models.profile import Calibration, ReferenceProfile
from centinela.models.publishing import profile_model
from centinela.models.trainers import train
from tests.centinela.drift.factories import T0, WINDOW

WINDOW_EVENTS = 4_000
PER_WINDOW_TOLERANCE = 0.03  # about 4.5 standard deviations of one window's realised accuracy
POOLED_TOLERANCE = 0.01  # over 10 windows: about 5 standard deviations


def _world(
    n: int, seed: int, *, mean: float = 0.0, sd: float = 1.0, flip: float = 0.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with ``x0 ~ N(mean, sd)`` (a covariate shift moves it; ``P(y | x)`` stays), and
    labels of which a share ``flip`` follow the opposite concept (a concept change)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x0": rng.normal(mean, sd, n), "x1": rng.normal(0.0, 1.0, n)})
    logit = 2.0 * frame["x0"].to_numpy() + frame["x1"].to_numpy()
    flipped = rng.random(n) < flip
    labels = (rng.random(n) < 1.0 / (1.0 + np.exp(-np.where(flipped, -logit, logit)))).astype(int)
    return frame, labels


class Overconfident:
    """A fixed model whose probabilities are far too sure: sigmoid(3 x the true logit)."""

    classes_ = np.array([0, 1])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        logit = 3.0 * (2.0 * frame["x0"].to_numpy() + frame["x1"].to_numpy())
        p1 = 1.0 / (1.0 + np.exp(-logit))
        return np.column_stack([1.0 - p1, p1])


@pytest.fixture(scope="module")
def logistic() -> tuple[Any, ReferenceProfile]:
    frame, labels = _world(20_000, seed=0)
    model = train("logistic_regression", {}, frame, list(labels))
    validation, truth = _world(5_000, seed=1)
    return model, profile_model(model, validation, truth)


@pytest.fixture(scope="module")
def overconfident() -> tuple[Any, ReferenceProfile]:
    model = Overconfident()
    validation, truth = _world(5_000, seed=1)
    return model, profile_model(model, validation, truth)


def _summary(
    profile: ReferenceProfile,
    model: Any,
    frame: pd.DataFrame,
    labels: np.ndarray | None,
    *,
    window_id: int = 0,
    ids: list[str] | None = None,
) -> WindowSummary:
    """One window: every row an event, and with ``labels`` an outcome of the same window."""
    summary = WindowSummary.empty(
        profile,
        model_version="1",
        window_id=window_id,
        window_start=T0 + window_id * WINDOW,
        window_end=T0 + (window_id + 1) * WINDOW,
        exact_cap=20_000,
    )
    proba = model.predict_proba(frame)
    predicted = proba.argmax(axis=1)
    ids = ids or [f"w{window_id}-{i}" for i in range(len(frame))]
    summary.add_events(ids, frame, predicted, proba)
    if labels is not None:
        summary.add_outcomes(ids, predicted, labels, proba, np.zeros(len(frame)))
    return summary


def _without_calibration(profile: ReferenceProfile) -> ReferenceProfile:
    return replace(profile, calibration=None)


def _reports(
    model: Any, profile: ReferenceProfile, *, seed: int, windows: int = 10, **world: float
) -> list[DriftReport]:
    reports = []
    for w in range(windows):
        frame, labels = _world(WINDOW_EVENTS, seed=seed + w, **world)
        summary = _summary(profile, model, frame, labels, window_id=w)
        reports.append(compute_drift(summary, profile, DriftConfig(), model_name="m"))
    return reports


def _pooled(reports: list[DriftReport]) -> tuple[float, float]:
    estimated = float(np.mean([r.estimated_performance["accuracy"] for r in reports]))
    realised = float(np.mean([r.performance["accuracy"] for r in reports]))
    return estimated, realised


def test_with_no_drift_the_estimate_is_the_realised_accuracy(logistic) -> None:
    model, profile = logistic
    assert profile.calibration is not None
    reports = _reports(model, profile, seed=100)
    for report in reports:
        window = report.estimated_performance
        assert window["calibrated"] == 1.0
        assert set(window) == {
            "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "calibrated"
        }  # fmt: skip
        error = report.estimated_performance["accuracy"] - report.performance["accuracy"]
        assert abs(error) < PER_WINDOW_TOLERANCE
        assert abs(window["f1"] - report.performance["f1"]) < PER_WINDOW_TOLERANCE
        assert abs(window["roc_auc"] - report.performance["roc_auc"]) < PER_WINDOW_TOLERANCE
        # Every event is labeled in its window: the estimator's error is exactly the gap.
        assert report.estimation_error["accuracy"] == error
    estimated, realised = _pooled(reports)
    assert abs(estimated - realised) < POOLED_TOLERANCE
    assert abs(estimated - profile.baseline_metrics["accuracy"]) < POOLED_TOLERANCE


@pytest.mark.parametrize(("mean", "sd"), [(1.5, 1.0), (0.0, 0.3)])
def test_under_covariate_shift_the_estimate_follows_the_realised_accuracy(
    logistic, overconfident, mean: float, sd: float
) -> None:
    """x0 moves away from the boundary (accuracy rises to ~0.89) or onto it (falls to ~0.69);
    P(y | x) is the same, so the calibration still holds and the estimate moves with it."""
    for model, profile in (logistic, overconfident):
        before, _ = _pooled(_reports(model, profile, seed=100))
        reports = _reports(model, profile, seed=200, mean=mean, sd=sd)
        estimated, realised = _pooled(reports)
        assert abs(realised - before) > 0.08  # the shift really changed the accuracy
        assert abs(estimated - realised) < POOLED_TOLERANCE
        for report in reports:
            assert abs(report.estimation_error["accuracy"]) < PER_WINDOW_TOLERANCE


def test_the_calibration_is_what_makes_an_overconfident_model_estimable(overconfident) -> None:
    model, profile = overconfident
    reports = _reports(model, profile, seed=100)
    _, realised = _pooled(reports)
    uncalibrated = [
        compute_drift(
            _summary(profile, model, *_world(WINDOW_EVENTS, seed=100 + w), window_id=w),
            _without_calibration(profile),
            DriftConfig(),
            model_name="m",
        )
        for w in range(10)
    ]
    raw, _ = _pooled(uncalibrated)
    assert all(r.estimated_performance["calibrated"] == 0.0 for r in uncalibrated)
    assert raw - realised > 0.1  # the raw probabilities promise far more than the model does
    assert abs(_pooled(reports)[0] - realised) < POOLED_TOLERANCE


def test_under_concept_change_only_the_realised_accuracy_falls(logistic) -> None:
    """The documented limit: P(y | x) moved, the probabilities did not, so the estimate stays
    where it was and the estimator's error shows the gap."""
    model, profile = logistic
    before, _ = _pooled(_reports(model, profile, seed=100))
    reports = _reports(model, profile, seed=300, flip=0.4)
    estimated, realised = _pooled(reports)
    assert abs(estimated - before) < POOLED_TOLERANCE
    assert before - realised > 0.15
    assert all(r.estimation_error["accuracy"] > 0.1 for r in reports)


def test_the_estimate_needs_no_labels_and_the_error_needs_them(logistic) -> None:
    model, profile = logistic
    frame, labels = _world(WINDOW_EVENTS, seed=5)
    unlabeled = compute_drift(
        _summary(profile, model, frame, None), profile, DriftConfig(), model_name="m"
    )
    labeled = compute_drift(
        _summary(profile, model, frame, labels), profile, DriftConfig(), model_name="m"
    )
    assert unlabeled.n_labeled == 0 and unlabeled.performance == {}
    assert unlabeled.estimated_performance == labeled.estimated_performance
    assert unlabeled.estimation_error == {}
    assert set(labeled.estimation_error) == {"accuracy", "f1", "roc_auc", "log_loss"}


def test_the_error_is_measured_on_the_labeled_events_not_the_windows_events(logistic) -> None:
    """Labels count in the window of their label time: a window's outcomes may be other events
    than its scored ones. The error compares the estimate for the labeled events themselves."""
    model, profile = logistic
    frame, _ = _world(WINDOW_EVENTS, seed=6, mean=2.0)  # this window's events: easy ones
    summary = _summary(profile, model, frame, None)
    older, truth = _world(1_000, seed=7, sd=0.3)  # labels of hard events scored earlier
    proba = model.predict_proba(older)
    ids = [f"old-{i}" for i in range(len(older))]
    summary.add_outcomes(ids, proba.argmax(axis=1), truth, proba, np.full(len(older), 30.0))
    report = compute_drift(summary, profile, DriftConfig(), model_name="m")
    on_outcomes = estimate_performance(
        proba.argmax(axis=1),
        proba.max(axis=1),
        n_classes=2,
        calibration=profile.calibration,
    )
    expected = estimation_errors(on_outcomes, report.performance)  # summed in another order
    assert report.estimation_error == pytest.approx(expected, abs=1e-12)
    assert abs(report.estimation_error["accuracy"]) < 0.05
    gap = report.estimated_performance["accuracy"] - report.performance["accuracy"]
    assert gap > 0.15  # the naive difference would blame the estimator for the mix


def test_merging_partition_summaries_gives_the_same_estimate_as_one_summary(logistic) -> None:
    model, profile = logistic
    frame, labels = _world(3_000, seed=8, mean=0.5)
    ids = [f"e{i}" for i in range(3_000)]
    whole = _summary(profile, model, frame, labels, ids=ids)
    proba = model.predict_proba(frame)
    predicted = proba.argmax(axis=1)
    parts = []
    for p in range(3):
        rows = np.flatnonzero(np.arange(3_000) % 3 == p)
        rows = np.union1d(rows, np.arange(100))  # the first 100 events were counted by all
        part = WindowSummary.empty(
            profile, model_version="1", window_id=0, window_start=T0, window_end=T0 + WINDOW,
            exact_cap=20_000,
        )  # fmt: skip
        chosen = [ids[r] for r in rows]
        part.add_events(chosen, frame.iloc[rows], predicted[rows], proba[rows])
        part.add_outcomes(chosen, predicted[rows], labels[rows], proba[rows], np.zeros(rows.size))
        parts.append(WindowSummary.from_dict(json.loads(json.dumps(part.to_dict()))))
    merged = parts[2].merge(parts[0], parts[1])
    one = compute_drift(whole, profile, DriftConfig(), model_name="m")
    many = compute_drift(merged, profile, DriftConfig(), model_name="m")
    assert many.estimated_performance == one.estimated_performance
    assert many.estimation_error == one.estimation_error
    assert many.n_events == 3_000


def test_binary_cells_follow_cbpe_and_sure_probabilities_give_the_realised_metrics() -> None:
    predicted = np.array([1, 1, 1, 0, 0])
    confidence = np.array([0.9, 0.8, 0.5, 0.7, 1.0])
    calibration = Calibration("positive_class", x=(0.0, 1.0), y=(0.0, 1.0), rows=10)  # identity
    got = estimate_performance(predicted, confidence, n_classes=2, calibration=calibration)
    p1 = np.array([0.9, 0.8, 0.5, 0.3, 0.0])
    tp, fp, fn = 0.9 + 0.8 + 0.5, 0.1 + 0.2 + 0.5, 0.3 + 0.0
    assert got["accuracy"] == pytest.approx((tp + 0.7 + 1.0) / 5)
    assert got["precision"] == pytest.approx(tp / (tp + fp))
    assert got["recall"] == pytest.approx(tp / (tp + fn))
    assert got["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    score = np.clip(p1, 1e-16, 1)  # the raw probabilities, weighted by the calibrated ones
    expected_loss = -np.mean(p1 * np.log(score) + (1 - p1) * np.log(1 - p1))
    assert got["log_loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert got["calibrated"] == 1.0
    # Calibrated probabilities of 0 or 1 are the truth: the estimate is the realised metrics.
    rng = np.random.default_rng(9)
    labels = rng.integers(0, 2, 200)
    predicted = rng.integers(0, 2, 200)
    sure = Calibration("positive_class", x=(0.5, 0.5000001), y=(0.0, 1.0), rows=200)
    score = np.where(labels == 1, 0.9, 0.1)  # the raw positive-class probability
    confidence = np.where(predicted == 1, score, 1 - score)
    got = estimate_performance(predicted, confidence, n_classes=2, calibration=sure)
    realised = performance(labels, predicted, np.column_stack([1 - score, score]), n_classes=2)
    for name in ("accuracy", "f1", "roc_auc"):
        assert got[name] == pytest.approx(realised[name], abs=1e-12)


def test_a_multiclass_estimate_is_the_mean_calibrated_top_class_probability() -> None:
    predicted = np.array([0, 2, 1, 1])
    confidence = np.array([0.4, 0.6, 0.8, np.nan])  # the last event has no probabilities
    calibration = Calibration("top_class", x=(0.4, 0.8), y=(0.3, 0.7), rows=50)
    got = estimate_performance(predicted, confidence, n_classes=3, calibration=calibration)
    assert got == {"accuracy": pytest.approx((0.3 + 0.5 + 0.7) / 3), "calibrated": 1.0}
    raw = estimate_performance(predicted, confidence, n_classes=3, calibration=None)
    assert raw == {"accuracy": pytest.approx(0.6), "calibrated": 0.0}
    # A binary (positive-class) calibration does not fit three classes: raw, and said so.
    wrong = Calibration("positive_class", x=(0.0, 1.0), y=(0.0, 1.0), rows=5)
    assert estimate_performance(predicted, confidence, n_classes=3, calibration=wrong) == raw
    assert estimate_performance(predicted, np.full(4, np.nan), n_classes=3, calibration=None) == {}


def test_old_summaries_profiles_and_reports_still_decode(logistic) -> None:
    model, profile = logistic
    frame, labels = _world(500, seed=10)
    summary = _summary(profile, model, frame, labels)
    data = summary.to_dict()
    old = json.loads(json.dumps(data))
    old["events"]["columns"] = old["events"]["columns"][:2]  # before the probability column
    legacy = WindowSummary.from_dict(old)
    assert legacy.n_events == 500 and np.isnan(legacy.confidence()[1]).all()
    report = compute_drift(legacy, profile, DriftConfig(), model_name="m")
    assert report.estimated_performance == {}
    # ... its outcomes kept their probabilities, so the error is still measured
    assert (
        report.estimation_error
        == compute_drift(summary, profile, DriftConfig(), model_name="m").estimation_error
    )
    # An old partial merged with a new one: the estimate covers the new one's events.
    newer, newer_labels = _world(500, seed=11)
    fresh = _summary(profile, model, newer, newer_labels, ids=[f"n{i}" for i in range(500)])
    mixed = legacy.merge(fresh)
    only_new = compute_drift(fresh, profile, DriftConfig(), model_name="m")
    assert mixed.n_events == 1000
    assert compute_drift(mixed, profile, DriftConfig(), model_name="m").estimated_performance == (
        only_new.estimated_performance
    )
    # An old profile (no calibration): the estimate uses the raw probabilities, flagged.
    text = json.loads(profile.to_json())
    del text["calibration"]
    old_profile = ReferenceProfile.from_json(json.dumps(text))
    uncalibrated = compute_drift(summary, old_profile, DriftConfig(), model_name="m")
    assert uncalibrated.estimated_performance["calibrated"] == 0.0
    # An old report (no estimate fields) decodes with empty ones.
    written = json.loads(report.model_dump_json())
    for field in ("estimated_performance", "estimation_error"):
        del written[field]
    decoded = DriftReport.model_validate_json(json.dumps(written))
    assert (decoded.estimated_performance, decoded.estimation_error) == ({}, {})


def test_redelivered_events_do_not_move_the_estimate(logistic) -> None:
    model, profile = logistic
    frame, labels = _world(1_000, seed=12)
    summary = _summary(profile, model, frame, labels)
    before = compute_drift(summary, profile, DriftConfig(), model_name="m")
    proba = model.predict_proba(frame.head(300))
    tilted = np.column_stack([np.full(300, 0.01), np.full(300, 0.99)])  # other numbers: ignored
    summary.add_events([f"w0-{i}" for i in range(300)], frame.head(300), proba.argmax(1), tilted)
    after = compute_drift(summary, profile, DriftConfig(), model_name="m")
    assert after.estimated_performance == before.estimated_performance
    assert after.n_events == before.n_events == 1_000
