"""The retrain worker on a real broker and a real MLflow server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from centinela.contract.settings import Settings
from centinela.models.profile import PROFILE_ARTIFACT, ReferenceProfile
from centinela.models.registry import CHALLENGER, CHAMPION, load_model
from centinela.stack.process import free_port
from retrain.catalog import Catalog
from retrain.evaluation import Comparison
from retrain.lineage import TRAINING_DATA_ARTIFACT
from retrain.registration import COMPARISON_TAG, COMPLETE, STATE_TAG
from retrain.worker import RetrainWorker
from tests.retrain.support import (
    examples,
    labeled_frame,
    live_examples,
    recent,
    register_champion,
    request_for,
    running_worker,
    send_request,
    wait_for_events,
    write_labeled,
)

pytestmark = pytest.mark.integration


def test_a_request_yields_one_challenger_with_lineage_and_comparison(
    retrain_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = retrain_settings()
    register_champion(settings)
    start = recent(30)
    frame, labels = labeled_frame(1200, seed=5, shift=0.8)  # drifted inputs, same concept
    rows = examples(frame, labels, model=settings.model_name, start=start)
    write_labeled(settings, rows)
    # Outside the requested range: must not be read.
    outside = examples(frame.head(100), labels[:100], model=settings.model_name,
                       start=recent(120), prefix="old")  # fmt: skip
    write_labeled(settings, outside)
    until = rows[-1].label_time
    request = request_for(settings, start, until)

    with running_worker(settings):
        send_request(settings, request)
        send_request(settings, request)  # a duplicate delivery of the same request
        events = wait_for_events(settings, lambda e: e.request_id == request.request_id, count=2)

    assert [e.event_type for e in events] == ["registered", "registered"]
    event = events[0]
    assert event.version == "2" and event.previous_version == "1"
    assert {"challenger_f1", "champion_f1", "delta_f1", "holdout_rows"} <= set(event.metrics)
    # the hold-out is 20% of the 1,200 rows in range: half compared, half the baseline
    assert event.metrics["holdout_rows"] == 120

    catalog = Catalog(settings)
    assert catalog.aliases() == {CHAMPION: "1", CHALLENGER: "2"}
    versions = catalog.versions_for_request(request.request_id, settings.training_experiment)
    assert [v.version for v in versions] == ["2"], "a re-delivered request registered twice"

    tags = versions[0].tags
    assert tags[STATE_TAG] == COMPLETE
    assert tags["centinela.parent_version"] == "1"
    assert tags["centinela.trigger"] == "data_drift"
    assert float(tags["centinela.delta_f1"]) == pytest.approx(event.metrics["delta_f1"])
    comparison = Comparison.from_json(tags[COMPARISON_TAG])
    assert comparison.n_holdout == 120 and comparison.champion_version == "1"
    assert set(comparison.deltas()) == {"accuracy", "f1", "roc_auc", "log_loss"}

    client = MlflowClient(settings.mlflow_tracking_uri)
    run = client.get_run(versions[0].run_id)
    assert run.data.params["trainer"] == "logistic_regression"
    assert run.data.tags["centinela.request_id"] == request.request_id
    assert json.loads(run.data.tags["centinela.evidence"])["drifted_features"] == ["x0", "x1"]
    assert run.data.tags["centinela.data.topic"].endswith("labeled")
    assert run.data.metrics["rows_read"] == 1200  # the 100 older rows were not read
    assert run.data.metrics["rows_train"] == 960
    assert run.data.metrics["rows_compared"] == 120 and run.data.metrics["rows_baseline"] == 120
    assert {"stage_read_s", "stage_train_s", "challenger_accuracy"} <= set(run.data.metrics)
    contexts = sorted(
        tag.value
        for dataset in run.inputs.dataset_inputs
        for tag in dataset.tags
        if tag.key == "mlflow.data.context"
    )
    assert contexts == ["evaluation", "training", "training"]
    kafka_sources = [
        json.loads(d.dataset.source) for d in run.inputs.dataset_inputs
        if d.dataset.source_type == "kafka"
    ]  # fmt: skip
    assert {s["topic"] for s in kafka_sources} == {run.data.tags["centinela.data.topic"]}
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert artifacts == {"evaluation/comparison.json", "evaluation/comparison.png"}
    trained_on = pd.read_parquet(
        client.download_artifacts(run.info.run_id, TRAINING_DATA_ARTIFACT, str(tmp_path))
    )
    assert len(trained_on) == 960
    profile = ReferenceProfile.from_json(
        Path(
            client.download_artifacts(run.info.run_id, PROFILE_ARTIFACT, str(tmp_path))
        ).read_text()
    )
    # the baseline is measured on the hold-out rows the comparison did not use
    assert profile.baseline_rows == 120 and profile.baseline_errors is not None
    assert profile.baseline_metrics["accuracy"] == pytest.approx(1 - profile.baseline_errors / 120)
    assert profile.baseline_metrics != comparison.challenger
    assert profile.n_rows == 960

    challenger = load_model(settings, alias=CHALLENGER)
    assert challenger.trainer == "logistic_regression"
    assert [(h.action, h.version, h.seq) for h in catalog.history()] == [("register", "2", 1)]


def test_invalid_data_yields_a_failed_event_and_the_worker_moves_on(
    retrain_settings: Callable[..., Settings],
) -> None:
    settings = retrain_settings()
    register_champion(settings)
    start = recent(20)
    frame, labels = labeled_frame(300, seed=6)
    rows = examples(frame, labels * 0, model=settings.model_name, start=start)  # one class only
    write_labeled(settings, rows)
    one_class = request_for(settings, start, rows[-1].label_time)
    empty = request_for(settings, recent(300), recent(299))
    unknown = request_for(settings, start, rows[-1].label_time).model_copy(
        update={"model_name": "no-such-model"}
    )

    with running_worker(settings):
        for request in (one_class, empty, unknown):
            send_request(settings, request)
        events = wait_for_events(settings, lambda e: e.event_type == "failed", count=3)

    reasons = {e.request_id: e.reason for e in events}
    assert "missing_class" in reasons[one_class.request_id]
    assert "empty_range" in reasons[empty.request_id]
    assert "no model named 'no-such-model'" in reasons[unknown.request_id]
    assert Catalog(settings).aliases() == {CHAMPION: "1"}
    assert [v.version for v in Catalog(settings).versions()] == ["1"]


def test_mlflow_away_is_retried_then_reported_as_failed(
    retrain_settings: Callable[..., Settings],
) -> None:
    settings = retrain_settings(mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}")
    request = request_for(settings, recent(10), recent(5))
    worker = RetrainWorker(settings, attempts=2, backoff_s=0.1)
    send_request(settings, request)
    assert worker.serve(max_requests=1) == 1

    [event] = wait_for_events(settings, lambda e: e.request_id == request.request_id)
    assert event.event_type == "failed"
    assert "gave up after 2 attempts" in event.reason and "MLflow does not answer" in event.reason


def test_auto_promotion_waits_for_the_live_evidence_then_promotes_a_better_challenger(
    retrain_settings: Callable[..., Settings],
) -> None:
    settings = retrain_settings(
        auto_promote=True,
        auto_promote_min_holdout=100,
        auto_promote_min_improvement=0.01,
        auto_promote_check_seconds=1.0,
    )
    register_champion(settings)
    start = recent(40)
    frame, labels = labeled_frame(1000, seed=7, shift=1.0)  # the champion's f1 drops here
    rows = examples(frame, labels, model=settings.model_name, start=start)
    write_labeled(settings, rows)
    request = request_for(settings, start, rows[-1].label_time)

    with running_worker(settings):
        send_request(settings, request)
        [registered] = wait_for_events(settings, lambda e: e.version == "2", count=1)
        time.sleep(4)  # several looks: no live event after its training data yet
        assert Catalog(settings).aliases() == {CHAMPION: "1", CHALLENGER: "2"}
        later = rows[-1].event_time + timedelta(seconds=1)
        write_labeled(
            settings, live_examples(settings, 1500, start=later, seed=8, shift=1.0, prefix="live")
        )
        events = wait_for_events(settings, lambda e: e.version == "2", count=2)

    assert [e.event_type for e in events] == ["registered", "promoted"]
    promoted = events[1]
    assert promoted.actor == "centinela-auto-promote" and promoted.previous_version == "1"
    # The worker looks every second, also while the live events are being written: it may
    # decide on part of them (the test is valid at any look).
    compared = re.search(r"auto-promotion: live: ([\d,]+) labeled events since", promoted.reason)
    assert compared is not None and 0 < int(compared[1].replace(",", "")) <= 1500
    assert "verdict: better" in promoted.reason
    assert "hold-out rows: MLflow's gate passed: f1_score" in promoted.reason
    assert registered.metrics["delta_f1"] >= 0.01
    assert Catalog(settings).aliases() == {CHAMPION: "2"}
    # MLflow's evaluation is in the retrain run, the champion's in a run nested in it.
    client = MlflowClient(settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)
    run = client.get_run(client.get_model_version(settings.model_name, "2").run_id or "")
    assert run.data.metrics["f1_score"] > 0 and "confusion_matrix.png" in {
        a.path for a in client.list_artifacts(run.info.run_id)
    }
    [nested] = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert nested.info.run_name == "champion-on-holdout"
    assert nested.data.metrics["f1_score"] + 0.01 <= run.data.metrics["f1_score"]
