"""Fault: the MLflow server goes down for two minutes in the middle of a run. What it proves:
scoring goes on with the cached champion, the worker neither crashes nor stops being ready, and
the window metrics that waited in the bounded queue reach MLflow once it is back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from centinela.contract.topics import Topics
from centinela.stack.mlflow_server import MlflowServer
from centinela.stack.process import free_port
from stream.internal_topics import ensure_stream_topics
from tests.stream.stream_scenario import Scenario, register_champion
from tests.stream.test_worker_integration import predictions, publish_scenario, reports
from tests.stream.worker_process import WorkerProcess, wait_for

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 120.0


def test_two_minutes_without_mlflow_lose_no_scoring_and_no_queued_metrics(
    make_settings: Any, tmp_path: Path
) -> None:
    server = MlflowServer(tmp_path / "mlflow", free_port())
    server.start()
    settings = make_settings(
        mlflow_tracking_uri=server.tracking_uri,
        window_seconds=2.0,
        allowed_lateness_seconds=2.0,
        batch_wait_ms=20,
        stream_app_id="outage-test",
    )
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        before = Scenario(n=2000, spacing=0.002, label_share=0.0)
        publish_scenario(settings, before)
        wait_for(lambda: worker.status()["mlflow_windows_logged"] >= 1, 90, "MLflow", worker)

        server.stop()
        down_at = time.monotonic()
        during = Scenario(n=4000, spacing=0.002, label_share=0.0, start=2000)
        publish_scenario(settings, during)
        expected = {*before.ids(), *during.ids()}
        wait_for(
            lambda: {p["event_id"] for p in predictions(settings)} >= expected,
            90,
            "scoring while MLflow is down",
            worker,
        )
        assert worker.get("/ready").status_code == 200  # the cached champion keeps serving
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        assert worker.alive()
        waiting = worker.status()["mlflow_queue_depth"]
        assert waiting > 0  # windows closed during the outage wait for MLflow

        server.start()
        reported = len(reports(settings))
        wait_for(
            lambda: worker.status()["mlflow_windows_logged"] >= reported,
            120,
            "the queued window metrics in MLflow",
            worker,
        )
        status = worker.status()
        assert status["mlflow_overflow"] == 0 and status["mlflow_queue_depth"] == 0
        client = MlflowClient(server.tracking_uri)
        experiment = client.get_experiment_by_name(settings.monitoring_experiment)
        assert experiment is not None
        [run] = client.search_runs([experiment.experiment_id])
        steps = {m.step for m in client.get_metric_history(run.info.run_id, "n_events")}
        assert steps == {r["window_id"] for r in reports(settings)}
        assert topics.features  # the topics were the worker's own
    finally:
        worker.stop()
        server.stop()
