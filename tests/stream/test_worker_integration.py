"""`centinela stream` workers as subprocesses on the real broker and a real MLflow store.

One worker scores, dead-letters, joins and reports windows (and MLflow shows them); the champion
alias moves and the worker switches versions without a restart; two workers on four partitions
report the same windows as one; a SIGKILL mid-stream loses nothing.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from mlflow.tracking import MlflowClient

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from stream.internal_topics import ensure_stream_topics
from tests.dashboard import exposed_series, queried_metrics
from tests.stream.stream_data import T0, event_bytes, label_bytes
from tests.stream.stream_scenario import Scenario, promoted, register_champion
from tests.stream.worker_process import (
    WorkerProcess,
    count_by,
    producer,
    publish,
    read_all,
    values,
    wait_for,
)

pytestmark = pytest.mark.integration

GOOD = {"x0": 0.1, "x1": 0.2, "x2": 0.3, "colour": "red"}


@pytest.fixture
def stream_settings(make_settings: Callable[..., Settings], mlflow_store: str) -> Settings:
    return make_settings(
        mlflow_tracking_uri=mlflow_store,
        window_seconds=2.0,
        # Events are published ~10x faster than event time runs: a label fetched 0.1 s after
        # its event is a second late in event time. The lateness covers that skew.
        allowed_lateness_seconds=2.0,
        join_ttl_seconds=5.0,
        batch_wait_ms=20,
        champion_poll_seconds=2.0,
        max_message_bytes=4096,
        report_every_windows=2,
        stream_app_id="stream-test",
    )


def in_time_order(scenario: Scenario) -> list[tuple[str, bytes, bytes]]:
    """Features and labels interleaved by their times, as a live system would send them."""
    timed = [(orjson.loads(v)["event_time"], "features", k, v) for k, v in scenario.features]
    timed += [(orjson.loads(v)["label_time"], "labels", k, v) for k, v in scenario.labels]
    return [(topic, k, v) for _, topic, k, v in heapq.merge(*[sorted(timed)])]


def publish_scenario(settings: Settings, scenario: Scenario) -> None:
    topics = Topics.from_settings(settings)
    sender = producer(settings)
    for topic, key, value in in_time_order(scenario):
        sender.send(getattr(topics, topic), key=key, value=value)
    sender.flush()
    sender.close()


def predictions(settings: Settings) -> list[dict[str, Any]]:
    return values(settings, Topics.from_settings(settings).predictions)


def reports(settings: Settings) -> list[dict[str, Any]]:
    return values(settings, Topics.from_settings(settings).drift)


def windowed_events(settings: Settings) -> int:
    return sum(r["n_events"] for r in reports(settings))


def bad_messages() -> list[tuple[str, bytes, bytes, str]]:
    """(topic, key, value, expected reason) for each kind of bad input (docs/architecture.md,
    "Delivery semantics")."""
    good_event = event_bytes("dup-1", T0, GOOD)
    return [
        ("features", b"m", b"{not json", "malformed_json"),
        ("features", b"w", event_bytes("w", T0, {**GOOD, "x0": "high"}), "wrong_type"),
        ("features", b"mi", event_bytes("mi", T0, {"x0": 1.0}), "missing_feature"),
        ("features", b"ex", event_bytes("ex", T0, {**GOOD, "x9": 1.0}), "extra_feature"),
        (
            "features",
            b"nan",
            b'{"event_id":"nan","event_time":"2026-01-01T00:00:00Z","features":'
            b'{"x0":NaN,"x1":1,"x2":1,"colour":"red"}}',
            "non_finite",
        ),
        ("features", b"big", event_bytes("big", T0, {**GOOD, "colour": "x" * 5000}), "oversized"),
        (
            "features",
            b"naive",
            event_bytes("naive", T0, GOOD).replace(b"+00:00", b""),
            "naive_timestamp",
        ),
        ("features", b"dup-1", good_event, ""),
        ("features", b"dup-1", good_event, "duplicate_event_id"),
        ("labels", b"e-5", label_bytes("e-5", 7, T0), "unknown_class"),
        ("labels", b"ghost", label_bytes("ghost", 1, T0), "label_unknown_event"),
    ]


def test_one_worker_scores_dead_letters_joins_and_reports(
    stream_settings: Settings, tmp_path: Path
) -> None:
    settings = stream_settings
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        bad = bad_messages()
        publish(settings, topics.features, [(k, v) for t, k, v, _ in bad if t == "features"])
        publish(settings, topics.labels, [(k, v) for t, k, v, _ in bad if t == "labels"])
        scenario = Scenario(n=4000, spacing=0.002, delay=0.5, label_share=0.9)
        publish_scenario(settings, scenario)
        # A label that comes more than the join TTL after its (still remembered) event.
        labeled_ids = {key for key, _ in scenario.labels}
        i = max(i for i in range(scenario.n) if scenario.event_id(i).encode() not in labeled_ids)
        key = scenario.event_id(i)
        late = label_bytes(key, 1, scenario.time(i) + timedelta(seconds=6))
        publish(settings, topics.labels, [(key.encode(), late)])
        expected = scenario.n + 1  # + dup-1's first copy
        wait_for(lambda: len(predictions(settings)) >= expected, 90, "all predictions", worker)
        wait_for(lambda: windowed_events(settings) >= expected, 60, "all windows", worker)

        scored = predictions(settings)
        assert len(scored) == expected
        assert count_by(scored, "event_id").most_common(1)[0][1] == 1
        assert {p["model_version"] for p in scored} == {"1"}
        assert {p["model_name"] for p in scored} == {settings.model_name}
        assert all(abs(sum(p["probabilities"].values()) - 1) < 1e-9 for p in scored)

        dead = values(settings, topics.dead_letter)
        reasons = count_by(dead, "reason")
        wanted = [reason for *_, reason in bad if reason] + ["label_past_ttl"]
        assert sorted(reasons.elements()) == sorted(wanted), reasons

        labeled = values(settings, topics.labeled)
        assert len(labeled) == len(scenario.labels)
        assert all(row["features"] and "label" in row for row in labeled)

        drift = reports(settings)
        assert sum(r["n_events"] for r in drift) == expected
        assert sum(r["n_labeled"] for r in drift) == len(scenario.labels)
        windows = sorted(r["window_id"] for r in drift)
        assert len(windows) == len(set(windows)) >= 4
        # Performance before labels: every window with events estimated with the profile's
        # calibration (a window of late labels only has none), and checked against the labels
        # where it has them.
        scored_windows = sorted(r["window_id"] for r in drift if r["n_events"])
        estimates = [r["estimated_performance"] for r in drift if r["n_events"]]
        assert all(e["calibrated"] == 1.0 and 0.5 < e["accuracy"] <= 1.0 for e in estimates)
        assert all(not r["estimated_performance"] for r in drift if not r["n_events"])
        checked = [r["window_id"] for r in drift if "accuracy" in r["estimation_error"]]
        assert checked == [r["window_id"] for r in drift if r["n_labeled"]] and checked

        metrics = worker.get("/metrics").text
        assert 'centinela_dead_letters_total{reason="duplicate_event_id"} 1.0' in metrics
        assert 'centinela_model_version{version="1"} 1.0' in metrics
        assert "centinela_estimated_accuracy " in metrics
        # Every series the Grafana dashboard (infra/grafana) queries exists on a live worker.
        assert queried_metrics() - exposed_series(metrics) == set()
        status = worker.status()
        assert status["champion"]["version"] == "1" and status["ready"]
        assert status["windows"]
        assert all(
            "accuracy" in w["estimated_performance"] for w in status["windows"] if w["n_events"]
        )

        wait_for(lambda: worker.status()["mlflow_windows_logged"] >= len(drift), 60, "MLflow")
        client = MlflowClient(settings.mlflow_tracking_uri)
        experiment = client.get_experiment_by_name(settings.monitoring_experiment)
        assert experiment is not None
        [run] = client.search_runs([experiment.experiment_id])
        history = client.get_metric_history(run.info.run_id, "n_events")
        assert sorted(m.step for m in history) == windows
        assert sum(m.value for m in history) == expected
        estimated = client.get_metric_history(run.info.run_id, "estimated_accuracy")
        assert sorted(m.step for m in estimated) == scored_windows
        errors = client.get_metric_history(run.info.run_id, "estimation_error_accuracy")
        assert sorted(m.step for m in errors) == sorted(checked)
        ends = {r["window_id"]: r["window_end"] for r in drift}
        stamp = next(m for m in history if m.step == windows[0]).timestamp
        assert stamp == int(datetime.fromisoformat(ends[windows[0]]).timestamp() * 1000)
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "drift_reports")]
        assert any(a.endswith(".json") for a in artifacts)
        assert any(a.endswith(".png") for a in artifacts)
    finally:
        worker.stop()


def test_moving_the_champion_alias_switches_versions_without_a_restart(
    stream_settings: Settings, tmp_path: Path
) -> None:
    settings = stream_settings
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        first = Scenario(n=1500, label_share=0.0)
        publish(settings, topics.features, first.features)
        wait_for(lambda: len(predictions(settings)) >= first.n, 60, "first predictions", worker)
        pid = worker.process.pid if worker.process else None

        register_champion(settings, seed=1)  # version 2 becomes champion
        publish(
            settings, topics.model_events, [(settings.model_name.encode(), promoted(settings, "2"))]
        )
        wait_for(lambda: worker.status()["champion"]["version"] == "2", 60, "the swap", worker)
        second = Scenario(n=1500, start=first.n, label_share=0.0)
        publish(settings, topics.features, second.features)
        total = first.n + second.n
        wait_for(lambda: len(predictions(settings)) >= total, 60, "second predictions", worker)

        scored = predictions(settings)
        assert len(scored) == total  # no event lost, none scored twice
        version = {p["event_id"]: p["model_version"] for p in scored}
        assert {version[i] for i in first.ids()} == {"1"}
        assert {version[i] for i in second.ids()} == {"2"}
        assert worker.process is not None and worker.process.pid == pid and worker.alive()
        assert worker.status()["hot_swaps"] == 1
    finally:
        worker.stop()


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "created_at"}


def test_two_workers_on_four_partitions_report_what_one_worker_does(
    make_settings: Callable[..., Settings], mlflow_store: str, tmp_path: Path
) -> None:
    common = {
        "mlflow_tracking_uri": mlflow_store,
        "window_seconds": 2.0,
        "allowed_lateness_seconds": 0.5,
        "topic_partitions": 4,
        "batch_size": 300,  # many small batches: partitions interleave differently per run
        "batch_wait_ms": 20,
    }
    one, two = make_settings(**common), make_settings(**common)
    register_champion(one, seed=0)
    scenario = Scenario(n=6000, spacing=0.002, delay=0.7, label_share=0.8)
    for settings in (one, two):
        ensure_stream_topics(settings)
        publish_scenario(settings, scenario)
    solo = WorkerProcess(one, tmp_path / "solo.log").start()
    pair = [WorkerProcess(two, tmp_path / f"pair{i}.log").start() for i in range(2)]
    workers = [solo, *pair]
    try:
        for worker in workers:
            worker.wait_ready()
        wait_for(
            lambda: windowed_events(one) >= scenario.n and windowed_events(two) >= scenario.n,
            120,
            "every window of both runs",
            *workers,
        )
        time.sleep(2)  # a duplicate report would show up now
        assert sum(len(w.status()["partitions"]) for w in pair) == 4
        assert all(w.status()["partitions"] for w in pair)  # both workers had partitions
        solo_reports = sorted((comparable(r) for r in reports(one)), key=lambda r: r["window_id"])
        pair_reports = sorted((comparable(r) for r in reports(two)), key=lambda r: r["window_id"])
        assert len(solo_reports) >= 6
        counts = [(r["window_id"], r["n_events"], r["n_labeled"]) for r in solo_reports]
        assert [(r["window_id"], r["n_events"], r["n_labeled"]) for r in pair_reports] == counts
        assert pair_reports == solo_reports
    finally:
        for worker in workers:
            worker.stop()


def test_a_sigkill_mid_stream_loses_no_event_and_counts_none_twice(
    stream_settings: Settings, tmp_path: Path
) -> None:
    settings = stream_settings
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    scenario = Scenario(n=20000, spacing=0.002, label_share=0.5)
    ordered = in_time_order(scenario)
    worker = WorkerProcess(settings, tmp_path / "before.log").start()
    worker.wait_ready()
    stop = threading.Event()

    def feed() -> None:  # a steady stream, also while the worker is down
        sender = producer(settings)
        for start in range(0, len(ordered), 500):
            for topic, key, value in ordered[start : start + 500]:
                sender.send(getattr(topics, topic), key=key, value=value)
            sender.flush()
            if stop.wait(0.05):
                break
        sender.close()

    feeder = threading.Thread(target=feed)
    feeder.start()
    restarted = None
    try:
        wait_for(
            lambda: len(read_all(settings, topics.predictions, timeout_ms=500)) > 4000,
            90,
            "some predictions",
            worker,
        )
        worker.kill()
        restarted = WorkerProcess(settings, tmp_path / "after.log").start()
        feeder.join(timeout=120)
        wait_for(
            lambda: len({p["event_id"] for p in predictions(settings)}) >= scenario.n,
            120,
            "predictions for every event",
            restarted,
        )
        wait_for(lambda: windowed_events(settings) >= scenario.n, 90, "every window", restarted)
        time.sleep(2)
        scored = {p["event_id"] for p in predictions(settings)}
        assert scored == scenario.ids()
        drift = reports(settings)
        assert sum(r["n_events"] for r in drift) == scenario.n  # deduplicated by event id
        windows = [r["window_id"] for r in drift]
        assert len(windows) == len(set(windows))
        labeled = {v["event_id"] for v in values(settings, topics.labeled)}
        assert labeled == {orjson.loads(v)["event_id"] for _, v in scenario.labels}
    finally:
        stop.set()
        feeder.join(timeout=30)
        worker.stop()
        if restarted is not None:
            restarted.stop()
