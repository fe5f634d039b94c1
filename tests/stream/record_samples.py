"""One valid instance of every record type, for round-trip tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from centinela.contract.records import (
    Alert,
    DeadLetter,
    DriftReport,
    FeatureDrift,
    FeatureEvent,
    LabeledExample,
    LabelEvent,
    ModelEvent,
    Prediction,
    Record,
    RetrainRequest,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sample_records() -> list[Record]:
    features = {"x0": 0.25, "x1": -3, "colour": "red"}
    return [
        FeatureEvent(event_id="e-1", event_time=T0, features=features),
        LabelEvent(event_id="e-1", label=1, label_time=T0 + timedelta(seconds=30)),
        Prediction(
            event_id="e-1",
            event_time=T0,
            model_name="m",
            model_version="3",
            predicted_class=1,
            probabilities={"0": 0.2, "1": 0.8},
            scored_at=T0,
            latency_ms=1.5,
        ),
        LabeledExample(
            event_id="e-1",
            event_time=T0,
            features=features,
            model_name="m",
            model_version="3",
            predicted_class=1,
            label=0,
            label_time=T0 + timedelta(seconds=30),
        ),
        DriftReport(
            model_name="m",
            model_version="3",
            window_id=7,
            window_start=T0,
            window_end=T0 + timedelta(seconds=20),
            n_events=2000,
            n_labeled=1500,
            features=(
                FeatureDrift(
                    feature="x0",
                    kind="numeric",
                    test="ks",
                    statistic=0.1,
                    p_value=1e-6,
                    drifted=True,
                ),
            ),
            drifted_features=("x0",),
            data_drift=True,
            created_at=T0,
        ),
        Alert(
            alert_id="a-1",
            model_name="m",
            model_version="3",
            kind="data_drift",
            message="x0 drifted",
            window_id=7,
            evidence={"p_value": 1e-6},
            created_at=T0,
        ),
        RetrainRequest(
            request_id="r-1",
            model_name="m",
            champion_version="3",
            reason="concept_drift",
            evidence={"windows": [7, 8]},
            train_from=T0,
            train_until=T0 + timedelta(minutes=5),
            created_at=T0,
        ),
        ModelEvent(event_type="registered", model_name="m", version="4", created_at=T0),
        DeadLetter(
            source_topic="features", original="e30=", reason="malformed_json", created_at=T0
        ),
    ]
