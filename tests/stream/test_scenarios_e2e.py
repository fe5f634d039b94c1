"""End to end on the real broker and MLflow: `centinela bootstrap`, `centinela produce` and a
`centinela stream` worker, on the producers' scenarios with known change points.

- ``stable``: no retrain request;
- ``covariate-sudden``: data drift flagged within one window of the change point and alerted,
  but no retrain request (data drift alone asks for none: the model's errors did not rise);
- ``concept-sudden``: concept drift flagged, and exactly one RetrainRequest.

Each test prints the detection delay it measured (windows, and labeled events up to the end of
the detecting window: an upper bound, since reports come per window).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from stream.internal_topics import ensure_stream_topics
from tests.stream.worker_process import CENTINELA, WorkerProcess, values, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def centinela(settings: Settings, *args: str, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTINELA_")}
    env.update(settings.as_environment())
    done = subprocess.run(
        [str(CENTINELA), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"centinela {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def run_scenario(
    make_settings: Callable[..., Settings],
    mlflow_store: str,
    tmp_path: Path,
    scenario: str,
    events: int,
) -> tuple[
    Settings, dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]
]:
    settings = make_settings(
        mlflow_tracking_uri=mlflow_store,
        window_seconds=10.0,
        allowed_lateness_seconds=5.0,
        topic_partitions=2,
    )
    ensure_stream_topics(settings)
    centinela(settings, "bootstrap", "--scenario", scenario, "--seed", "3")
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        manifest = tmp_path / "manifest.json"
        centinela(
            settings,
            "produce",
            "--scenario",
            scenario,
            "--seed",
            "3",
            "--events",
            str(events),
            "--rate",
            "0",
            "--label-delay",
            "fixed:500",
            "--label-delay-unit",
            "events",
            "--manifest",
            str(manifest),
            "--no-progress",
        )
        truth = json.loads(manifest.read_text())
        topics = Topics.from_settings(settings)
        wait_for(
            lambda: sum(r["n_events"] for r in values(settings, topics.drift)) >= events,
            240,
            "every window reported",
            worker,
        )
        time.sleep(3)  # a late retrain request would show now
        reports = sorted(values(settings, topics.drift), key=lambda r: r["window_id"])
        requests = values(settings, topics.retrain_requests)
        alerts = values(settings, topics.alerts)
        return settings, truth, reports, requests, alerts
    finally:
        worker.stop()


def change_window(truth: dict[str, Any], reports: list[dict[str, Any]]) -> int:
    [drift] = [d for d in truth["drifts"] if d.get("start_time")]
    start = datetime.fromisoformat(drift["start_time"].replace("Z", "+00:00")).timestamp()
    return next(
        r["window_id"]
        for r in reports
        if datetime.fromisoformat(r["window_end"].replace("Z", "+00:00")).timestamp() > start
    )


def test_a_stable_stream_raises_no_retrain_request(make_settings, mlflow_store, tmp_path):
    _, _, reports, requests, _ = run_scenario(
        make_settings, mlflow_store, tmp_path, "stable", 30_000
    )
    assert len(reports) >= 14
    assert requests == []
    flagged = [r["window_id"] for r in reports if r["data_drift"] or r["concept_drift"]]
    print(f"\nstable: {len(reports)} windows, {len(flagged)} flagged, no retrain request")


def test_a_sudden_covariate_shift_is_flagged_within_one_window_and_alerted_without_a_retrain(
    make_settings, mlflow_store, tmp_path
):
    _, truth, reports, requests, alerts = run_scenario(
        make_settings, mlflow_store, tmp_path, "covariate-sudden", 40_000
    )
    change = change_window(truth, reports)
    before = [r for r in reports if r["window_id"] < change]
    assert before and not any(r["data_drift"] for r in before[1:])
    first = next(r["window_id"] for r in reports if r["data_drift"] and r["window_id"] >= change)
    assert first - change <= 1
    assert any(a["kind"] == "data_drift" and a["window_id"] == first for a in alerts)
    assert requests == []  # P(y|x) is unchanged: no realised performance drop, no challenger
    print(
        f"\ncovariate-sudden: change in window {change}, flagged in window {first} "
        f"(delay {first - change} windows), alerted, no retrain request"
    )


def test_a_sudden_concept_change_is_detected_and_asks_for_one_retrain(
    make_settings, mlflow_store, tmp_path
):
    _, truth, reports, requests, _ = run_scenario(
        make_settings, mlflow_store, tmp_path, "concept-sudden", 40_000
    )
    change = change_window(truth, reports)
    first = next(r for r in reports if r["concept_drift"] and r["window_id"] >= change)
    labeled = sum(r["n_labeled"] for r in reports if change <= r["window_id"] <= first["window_id"])
    assert len(requests) == 1
    assert requests[0]["reason"] in ("concept_drift", "performance_drop")
    assert first["window_id"] - change <= 1
    print(
        f"\nconcept-sudden: change in window {change}, concept drift in window "
        f"{first['window_id']}, <= {labeled} labeled events after the change; "
        f"request {requests[0]['request_id']} ({requests[0]['reason']})"
    )
