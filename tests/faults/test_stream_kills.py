"""Fault: a stream worker SIGKILLed three times at random moments of a 100,000-event run fed at
full speed, restarted each time (about 1.5 minutes here), while it snapshots its state every
second. What it proves: every event id gets a prediction, every window is reported once (or
again identically), counting exactly the events whose time falls in it, and restarts resume
from the periodic snapshots."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from stream.internal_topics import ensure_stream_topics
from tests.faults.fault_support import (
    assert_windows_exact,
    topic_size,
    wait_for_every_window,
)
from tests.stream.stream_scenario import Scenario, register_champion
from tests.stream.test_worker_integration import in_time_order, predictions, reports
from tests.stream.worker_process import WorkerProcess, producer, wait_for

pytestmark = pytest.mark.integration

EVENTS = 100_000
KILLS = 3


def _feed(settings: Settings, ordered: list[tuple[str, bytes, bytes]], stop: threading.Event):
    topics = Topics.from_settings(settings)
    sender = producer(settings)
    for start in range(0, len(ordered), 2000):  # as fast as the producer goes
        for topic, key, value in ordered[start : start + 2000]:
            sender.send(getattr(topics, topic), key=key, value=value)
        if stop.is_set():
            break
    sender.flush()
    sender.close()


def test_three_sigkills_lose_nothing_and_report_every_window_once(
    make_settings: Any, mlflow_store: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mlflow_tracking_uri=mlflow_store,
        window_seconds=2.0,
        allowed_lateness_seconds=2.0,
        join_ttl_seconds=10.0,
        batch_wait_ms=20,
        stream_app_id="kill-test",
        state_snapshot_interval_seconds=1.0,  # kills land before, during and after snapshots
    )
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    scenario = Scenario(n=EVENTS, spacing=0.002, delay=0.5, label_share=0.5)
    ordered = in_time_order(scenario)
    rng = random.Random(7)
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(settings, ordered, stop))
    worker = WorkerProcess(settings, tmp_path / "run-0.log").start()
    try:
        worker.wait_ready()
        feeder.start()
        for kill in range(1, KILLS + 1):
            # A random moment: after a random share of the events has been scored.
            target = int(EVENTS * kill / (KILLS + 1) * rng.uniform(0.6, 1.0))
            wait_for(
                lambda t=target: topic_size(settings, topics.predictions) > t,
                180,
                f"{target} predictions before kill {kill}",
                worker,
            )
            worker.kill()
            worker = WorkerProcess(settings, tmp_path / f"run-{kill}.log").start()
        feeder.join(timeout=180)
        wait_for(
            lambda: topic_size(settings, topics.predictions) >= EVENTS,
            180,
            "as many predictions as events",
            worker,
        )
        expected = wait_for_every_window(settings, scenario, worker, prediction_timeout=120)
        assert_windows_exact(reports(settings), expected)
        assert {p["event_id"] for p in predictions(settings)} == scenario.ids()
        restarts = [(tmp_path / f"run-{kill}.log").read_text() for kill in range(1, KILLS + 1)]
        assert any("restored from a snapshot" in log for log in restarts)
    finally:
        stop.set()
        if feeder.is_alive():
            feeder.join(timeout=60)
        worker.stop()
