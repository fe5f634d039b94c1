"""The demo's view of performance before labels: the live window line, the estimated and
realised accuracy between change points, and the estimator's error over the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from centinela.contract.records import DriftReport
from centinela.demo.closing_summary import TrueDrift, accuracy_stretches, estimator_error_line
from centinela.demo.view import estimate_line

T0 = datetime(2026, 1, 1, 7, tzinfo=UTC)
WINDOW = timedelta(seconds=20)


def _report(window: int, estimated: float | None, realised: float | None) -> DriftReport:
    start = T0 + window * WINDOW
    return DriftReport(
        model_name="m", model_version="1", window_id=window, window_start=start,
        window_end=start + WINDOW, n_events=2000, n_labeled=0 if realised is None else 1000,
        performance={} if realised is None else {"accuracy": realised},
        estimated_performance={}
        if estimated is None
        else {"accuracy": estimated, "f1": estimated - 0.01, "calibrated": 1.0},
        estimation_error={}
        if estimated is None or realised is None
        else {"accuracy": estimated - realised},
    )  # fmt: skip


def _drift(kind: str, index: int, window: float) -> TrueDrift:
    return TrueDrift(kind, "sudden", index, T0 + window * WINDOW, 100.0)


def test_the_live_line_shows_the_estimate_and_its_error() -> None:
    assert estimate_line(_report(3, 0.9051, 0.9)) == (
        "estimated before labels: accuracy 0.905  f1 0.895   "
        "estimator error on this window's labels: accuracy +0.005"
    )
    assert estimate_line(_report(3, 0.9051, None)) == (
        "estimated before labels: accuracy 0.905  f1 0.895"
    )
    raw = _report(3, 0.8, None).model_copy(
        update={"estimated_performance": {"accuracy": 0.8, "calibrated": 0.0}}
    )
    assert estimate_line(raw) == "estimated before labels: accuracy 0.800 (uncalibrated)"
    assert estimate_line(_report(3, None, 0.9)).startswith("no estimate before labels")


def test_stretches_between_change_points_pool_estimated_and_realised_accuracy() -> None:
    """The mixed scenario's story: the covariate jump leaves both about where they were, the
    concept change drops only the realised accuracy."""
    reports = [
        _report(0, 0.90, 0.91),
        _report(1, 0.91, 0.89),
        _report(2, 0.90, 0.90),  # the covariate jump begins inside this window
        _report(3, 0.90, None),  # no labels yet: estimated only
        _report(4, 0.91, 0.70),  # the concept change
        _report(5, 0.90, 0.60),
    ]
    drifts = [_drift("concept", 8000, 4), _drift("covariate", 4000, 2.5)]  # any order
    stretches = accuracy_stretches(drifts, reports)
    assert [(s.name, s.windows) for s in stretches] == [
        ("before any change", 2),
        ("covariate from event 4,000", 2),
        ("concept from event 8,000", 2),
    ]
    before, covariate, concept = stretches
    assert (round(before.estimated, 6), round(before.realised, 6)) == (0.905, 0.9)
    assert (round(covariate.estimated, 6), covariate.realised) == (0.9, 0.9)
    assert (round(concept.estimated, 6), round(concept.realised, 6)) == (0.905, 0.65)
    [empty] = accuracy_stretches([], [])
    assert (empty.name, empty.windows, empty.estimated, empty.realised) == (
        "before any change",
        0,
        None,
        None,
    )


def test_the_estimators_error_over_the_run() -> None:
    reports = [_report(0, 0.90, 0.91), _report(1, 0.92, 0.90), _report(2, 0.9, None)]
    assert estimator_error_line(reports) == (
        "estimated minus realised accuracy on the labeled outcomes of 2 windows: "
        "mean +0.0050, mean absolute 0.0150, largest +0.0200"
    )
    assert estimator_error_line([_report(0, 0.9, None)]) == (
        "estimated accuracy: no window had labels to check it against"
    )
