"""Fault: the Kafka broker SIGKILLed in the middle of a run and restarted (same port, same data).

What it proves: a stream worker rides out the outage without a restart of its own (the same
process is alive and ready afterwards, and it scores what arrives after the restart), and
nothing is lost: every produced event id has a prediction, every label its labeled example, and
every window is reported once (or again identically) with counts equal to the deduplicated
events. The test runs its own broker, so that killing it disturbs no other test.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from stream.internal_topics import ensure_stream_topics
from tests.faults.fault_support import (
    assert_windows_exact,
    kill_broker,
    own_broker,
    recent_scenario,
    settings_on,
    topic_size,
    wait_for_every_window,
)
from tests.stream.stream_scenario import register_champion
from tests.stream.test_worker_integration import in_time_order, predictions, reports
from tests.stream.worker_process import WorkerProcess, values, wait_for

pytestmark = pytest.mark.integration

EVENTS = 30_000
DOWN_SECONDS = 5.0  # dead before the restart begins; the restart itself adds its start-up time


def _feed(
    settings: Settings,
    ordered: list[tuple[str, bytes, bytes]],
    stop: threading.Event,
    errors: list[BaseException],
) -> None:
    """A steady stream that goes on through the outage: the producer retries until the broker
    is back, idempotently, so a retried send adds no duplicate, and reconnects within a second
    of its return, as a producer next to the broker would."""
    topics = Topics.from_settings(settings)
    sender = KafkaProducer(
        linger_ms=5,
        acks="all",
        enable_idempotence=True,
        delivery_timeout_ms=300_000,
        max_block_ms=300_000,
        reconnect_backoff_max_ms=1000,
        **kafka_python_config(settings),
    )
    try:
        for start in range(0, len(ordered), 500):
            for topic, key, value in ordered[start : start + 500]:
                sender.send(getattr(topics, topic), key=key, value=value)
            sender.flush()
            if stop.wait(0.05):
                break
    except BaseException as error:  # reported by the test, not lost in a thread
        errors.append(error)
    finally:
        sender.close()


def test_a_broker_sigkill_and_restart_mid_run_needs_no_worker_restart_and_loses_nothing(
    mlflow_store: str, tmp_path: Path
) -> None:
    with own_broker(tmp_path / "kafka") as broker:
        settings = settings_on(
            broker.bootstrap_servers,
            tmp_path,
            mlflow_tracking_uri=mlflow_store,
            window_seconds=2.0,
            allowed_lateness_seconds=2.0,
            join_ttl_seconds=10.0,
            batch_wait_ms=20,
            stream_app_id="broker-kill",
        )
        register_champion(settings, seed=0)
        ensure_stream_topics(settings)
        topics = Topics.from_settings(settings)
        scenario = recent_scenario(EVENTS, 0.002, delay=0.5, label_share=0.5)
        stop, errors = threading.Event(), []
        feeder = threading.Thread(
            target=_feed, args=(settings, in_time_order(scenario), stop, errors)
        )
        worker = WorkerProcess(settings, tmp_path / "worker.log").start()
        try:
            worker.wait_ready()
            assert worker.process is not None
            pid = worker.process.pid
            feeder.start()
            wait_for(
                lambda: topic_size(settings, topics.predictions) > EVENTS // 3,
                120,
                "a third of the predictions before the kill",
                worker,
            )
            kill_broker(broker)
            time.sleep(DOWN_SECONDS)
            assert worker.alive(), f"the worker died with the broker:\n{worker.log_tail()}"
            broker.start()
            after_restart = topic_size(settings, topics.predictions)

            wait_for(
                lambda: topic_size(settings, topics.predictions) > after_restart,
                120,
                "predictions again after the broker's restart",
                worker,
            )
            feeder.join(timeout=300)
            assert not feeder.is_alive() and not errors, errors
            expected = wait_for_every_window(settings, scenario, worker, prediction_timeout=180)

            assert worker.alive() and worker.process.pid == pid  # never restarted
            assert worker.get("/ready").status_code == 200
            assert {p["event_id"] for p in predictions(settings)} == scenario.ids()
            labeled = {v["event_id"] for v in values(settings, topics.labeled)}
            assert labeled == {orjson.loads(v)["event_id"] for _, v in scenario.labels}
            assert_windows_exact(reports(settings), expected)
        finally:
            stop.set()
            if feeder.is_alive():
                feeder.join(timeout=60)
            worker.stop()
