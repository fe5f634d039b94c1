"""Fault: the worker that owns the merger SIGKILLed in the middle of a drift episode, with two
stream workers in one group and a retrain worker running.

The scenario turns its label function at event 20,000 (``concept-sudden``): the windows after
the change show a performance drop, one drift episode, and the policy asks for a challenger.
The merger (the one consumer of the single-partition window-partials topic) belongs to one
worker; as soon as the episode's request is on the topic, that worker is killed, and the other
takes the merger over and reports the rest of the episode.

What it proves: the new owner rebuilds the retrain policy from the drift topic and goes on with
the same episode: exactly one retrain request for it, exactly one challenger registered in
MLflow, and the windows of the episode the survivor reports ask for nothing more.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from mlflow.tracking import MlflowClient

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics, create_topics
from centinela.stack.mlflow_server import MlflowServer
from retrain.catalog import REQUEST_TAG
from stream.internal_topics import ensure_stream_topics
from tests.e2e.processes import Service, run_command
from tests.stream.worker_process import WorkerProcess, values, wait_for

pytestmark = pytest.mark.integration

EVENTS = 40_000  # concept-sudden turns at event 20,000


def _request_of(worker: WorkerProcess) -> dict[str, Any] | None:
    """The last retrain request this worker's merger published (None: none, or not the owner)."""
    try:
        request: dict[str, Any] | None = worker.status()["last_retrain_request"]
    except requests.RequestException:
        return None
    return request


def _drifted(report: dict[str, Any]) -> bool:
    performance = report["performance"]
    return bool(report["concept_drift"] or performance.get("performance_drop") == 1.0)


def test_killing_the_merger_owner_mid_episode_asks_for_one_retrain_and_one_challenger(
    make_settings: Callable[..., Settings], mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    settings = make_settings(
        mlflow_tracking_uri=mlflow_server.tracking_uri,
        model_name=f"owner-kill-{run}",
        monitoring_experiment=f"owner-kill-monitoring-{run}",
        training_experiment=f"owner-kill-training-{run}",
        stream_app_id=f"owner-kill-{run}",
        retrain_group_id=f"owner-kill-retrain-{run}",
        window_seconds=10.0,
        allowed_lateness_seconds=5.0,
        topic_partitions=2,
    )
    create_topics(settings)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    run_command(settings, "bootstrap", "--scenario", "concept-sudden", "--rows", "10000")
    workers = [WorkerProcess(settings, tmp_path / f"worker-{i}.log").start() for i in range(2)]
    retrain = Service(settings, tmp_path / "retrain.log", "retrain")
    try:
        for worker in workers:
            worker.wait_ready()
        # Recent event times: the retrain worker reads `labeled` by them, and that topic keeps
        # the broker's 7-day retention (tests/faults/fault_support.py, recent_scenario).
        epoch = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
        run_command(
            settings, "produce", "--scenario", "concept-sudden", "--events", str(EVENTS),
            "--rate", "0", "--seed", "3", "--no-progress", "--epoch", epoch,
        )  # fmt: skip
        wait_for(
            lambda: bool(values(settings, topics.retrain_requests)),
            180,
            "the episode's retrain request",
            *workers,
        )
        owners = [w for w in workers if _request_of(w) is not None]
        assert len(owners) == 1, "exactly one worker's merger published the request"
        [owner] = owners
        [survivor] = [w for w in workers if w is not owner]
        [first] = values(settings, topics.retrain_requests)
        owner.kill()
        killed_at = time.monotonic()

        wait_for(
            lambda: sum(r["n_events"] for r in _latest(values(settings, topics.drift))) >= EVENTS,
            240,
            "every window reported",
            survivor,
        )
        wait_for(
            lambda: _challengers(settings) != [],
            420 - (time.monotonic() - killed_at),
            "the challenger",
            survivor,
        )
        time.sleep(5)  # a second request, or a second challenger, would show now

        reports = _latest(values(settings, topics.drift))
        trigger = first["evidence"]["trigger_window_id"]
        later = [r for r in reports if r["window_id"] > trigger]
        assert survivor.status()["windows_reported"] > 0  # the survivor took the merger over
        assert any(_drifted(r) for r in later), "the episode went on after the kill"
        request_ids = [r["request_id"] for r in values(settings, topics.retrain_requests)]
        assert request_ids == [first["request_id"]]
        challengers = _challengers(settings)
        assert [request for _, request in challengers] == request_ids, challengers
        assert survivor.alive() and retrain.alive()
    finally:
        retrain.stop()
        for worker in workers:
            worker.stop()


def _latest(drift: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest = {(r["model_version"], r["window_id"]): r for r in drift}
    return list(latest.values())


def _challengers(settings: Settings) -> list[tuple[str, str | None]]:
    """(version, request id) of each version the retrain worker registered: every version but
    the bootstrap's champion."""
    # The registry named outright: an earlier test in the same process may have set MLflow's
    # global registry URI to a store of its own.
    uri = settings.mlflow_tracking_uri
    client = MlflowClient(uri, registry_uri=uri)
    found = client.search_model_versions(f"name='{settings.model_name}'")
    return sorted((v.version, (v.tags or {}).get(REQUEST_TAG)) for v in found if v.version != "1")
