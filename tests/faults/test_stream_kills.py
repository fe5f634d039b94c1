"""Fault: a stream worker SIGKILLed three times at random moments of a run fed at full speed,
restarted each time. What it proves: every event id gets a prediction, and every window is
reported once (or again identically), with counts equal to the deduplicated events."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from stream.internal_topics import ensure_stream_topics
from tests.stream.stream_scenario import Scenario, register_champion
from tests.stream.test_worker_integration import in_time_order, predictions, reports
from tests.stream.worker_process import WorkerProcess, producer, read_all, wait_for

pytestmark = pytest.mark.integration

EVENTS = 40_000
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


def _by_window(drift: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    seen: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for report in drift:
        seen[(report["model_version"], report["window_id"])].append(report)
    return seen


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
                lambda t=target: len(read_all(settings, topics.predictions, timeout_ms=300)) > t,
                120,
                f"{target} predictions before kill {kill}",
                worker,
            )
            worker.kill()
            worker = WorkerProcess(settings, tmp_path / f"run-{kill}.log").start()
        feeder.join(timeout=180)
        wait_for(
            lambda: {p["event_id"] for p in predictions(settings)} >= scenario.ids(),
            180,
            "a prediction for every event",
            worker,
        )
        wait_for(
            lambda: (
                sum(rs[-1]["n_events"] for rs in _by_window(reports(settings)).values()) >= EVENTS
            ),
            120,
            "every window reported",
            worker,
        )
        drift = reports(settings)
        by_window = _by_window(drift)
        for key, copies in by_window.items():
            first = {k: v for k, v in copies[0].items() if k != "created_at"}
            for again in copies[1:]:
                assert {k: v for k, v in again.items() if k != "created_at"} == first, key
        assert sum(copies[0]["n_events"] for copies in by_window.values()) == EVENTS
        assert {p["event_id"] for p in predictions(settings)} == scenario.ids()
    finally:
        stop.set()
        if feeder.is_alive():
            feeder.join(timeout=60)
        worker.stop()
