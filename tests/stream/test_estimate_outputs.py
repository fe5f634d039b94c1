"""Performance before labels, from the scored batch to what the stream shows: the window
summary keeps each event's probability of its predicted class (live and after a changelog
replay alike), and the estimate reaches MLflow's metrics, /status, /metrics, the alerts and the
report's plot."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from centinela.contract.records import DriftReport
from centinela.drift.calculator import compute_drift
from centinela.drift.config import DriftConfig
from centinela.drift.layout import event_hashes
from centinela.drift.summary import WindowSummary
from stream.alerts import alerts_for
from stream.champion import Champion
from stream.monitoring import report_metrics
from stream.plots import WindowPoint
from stream.prometheus import StreamMetrics
from stream.status import StatusBoard
from tests.stream.stream_data import at, event_bytes, label_bytes, labels_for, trained_model
from tests.stream.test_pipeline import SETTINGS, Log, events, new_pipeline, run

T = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def champion() -> Champion:
    return Champion.from_model(trained_model("1"), SETTINGS)


def test_windows_keep_the_probability_of_each_predicted_class(champion: Champion) -> None:
    pipeline, log = new_pipeline(champion, [0]), Log()
    batch = events(120)
    feats = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in batch]
    frame = pd.DataFrame([f for _, _, f in batch])
    truth = labels_for(frame)
    labels = [
        log.message("labels", 0, e, label_bytes(e, int(truth[i]), at(t + 0.1)))
        for i, (e, t, _) in enumerate(batch)
    ]
    run(pipeline, champion, {0: feats}, {0: labels})
    [(_, buffered)] = list(pipeline.states[0].windows)
    buffered.flush()
    summary = buffered.summary
    predicted, confidence = summary.confidence()
    proba = champion.model.model.predict_proba(frame[list(champion.profile.feature_names)])
    by_hash = dict(zip(summary.events().ids.tolist(), confidence.tolist(), strict=True))
    hashes = event_hashes([e for e, _, _ in batch]).tolist()
    assert [by_hash[h] for h in hashes] == proba.max(axis=1).tolist()
    assert predicted.size == 120
    report = compute_drift(summary, champion.profile, DriftConfig(), model_name="m")
    assert report.estimated_performance["calibrated"] == 1.0
    assert 0.5 < report.estimated_performance["accuracy"] <= 1.0
    assert set(report.estimation_error) >= {"accuracy", "f1"}


def _report(**update: object) -> DriftReport:
    report = DriftReport(
        model_name="m", model_version="3", window_id=9, window_start=T, window_end=T,
        n_events=2000, n_labeled=400, data_drift=True, drifted_features=("x3",),
        performance={"accuracy": 0.70, "baseline_accuracy": 0.905},
        estimated_performance={"accuracy": 0.9012, "f1": 0.88, "calibrated": 1.0},
        estimation_error={"accuracy": 0.2012},
    )  # fmt: skip
    return report.model_copy(update=update)


def test_mlflow_metrics_status_and_prometheus_carry_the_estimate() -> None:
    report = _report()
    metrics = report_metrics(report)
    assert metrics["estimated_accuracy"] == 0.9012
    assert metrics["estimated_f1"] == 0.88
    assert metrics["estimated_calibrated"] == 1.0
    assert metrics["estimation_error_accuracy"] == 0.2012
    assert metrics["performance.accuracy"] == 0.70
    board = StatusBoard()
    board.record(report, [], None)
    [window] = board.snapshot()["windows"]
    assert window["estimated_performance"] == {"accuracy": 0.9012, "f1": 0.88, "calibrated": 1.0}
    assert window["estimation_error"] == {"accuracy": 0.2012}
    gauges = StreamMetrics()
    gauges.set_estimate(report.estimated_performance, report.estimation_error)
    gauges.set_estimate({}, {})  # a window without an estimate leaves the last one
    text = gauges.render().decode()
    assert "centinela_estimated_accuracy 0.9012" in text
    assert "centinela_estimation_error_accuracy 0.2012" in text
    point = WindowPoint.of(report)
    assert point.performance["estimated_accuracy"] == 0.9012
    assert point.performance["accuracy"] == 0.70


def test_drift_alerts_carry_the_estimated_accuracy() -> None:
    [alert] = alerts_for(_report())
    assert alert.kind == "data_drift"
    assert alert.message == (
        "data drift in 1 feature(s): x3; estimated accuracy 0.901 (before labels, baseline 0.905)"
    )
    assert alert.evidence["estimated_performance"] == {
        "accuracy": 0.9012,
        "f1": 0.88,
        "calibrated": 1.0,
    }
    raw = _report(estimated_performance={"accuracy": 0.8, "calibrated": 0.0}, performance={})
    assert alerts_for(raw)[0].message.endswith(
        "; estimated accuracy 0.800 (uncalibrated, before labels)"
    )
    none = _report(estimated_performance={})
    assert alerts_for(none)[0].message == "data drift in 1 feature(s): x3"
    assert "estimated_performance" not in alerts_for(none)[0].evidence


def test_the_probability_column_does_not_change_what_the_summary_counts() -> None:
    """Events scored without probabilities (a model without predict_proba) keep NaN, and the
    window then has no estimate, but everything else as before."""
    model = trained_model("1")
    frame = pd.DataFrame(
        {"x0": [0.1, -2.0], "x1": [0.3, 0.2], "x2": [0.0, 0.0], "colour": ["red", "blue"]}
    )
    summary = WindowSummary.empty(
        model.profile, model_version="1", window_id=0, window_start=T, window_end=T,
        exact_cap=10,
    )  # fmt: skip
    summary.add_events(["a", "b"], frame, [1, 0])
    assert np.isnan(summary.confidence()[1]).all()
    report = compute_drift(summary, model.profile, DriftConfig(min_events=1), model_name="m")
    assert report.estimated_performance == {} and report.n_events == 2
