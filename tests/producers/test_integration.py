"""Producers against a real Kafka broker and a real MLflow store: events and labels arrive
complete, keyed and co-partitioned; delays, missing labels and change points are as stated;
river data replays; bootstrap registers a champion whose profile loads back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kafka.partitioner.default import murmur2

from centinela.cli import main
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics, create_topics
from centinela.models.registry import CHAMPION, alias_version, load_model
from producers.catalogue import get_scenario
from producers.clock import EventClock
from producers.delays import LabelDelay
from producers.manifest import read_manifest
from producers.publisher import Publisher
from producers.runner import FINAL_FLUSH_SECONDS, ProduceRun, RunOptions, RunResult
from producers.scenario import DeliveryPlan, ScenarioStream
from producers.sources import GaussianSource
from tests.producers.support import read_topic

pytestmark = pytest.mark.integration

MakeSettings = Callable[..., Settings]


def _produce(
    settings: Settings, plan: DeliveryPlan, events: int, scenario: str = "stable"
) -> RunResult:
    create_topics(settings)
    publisher = Publisher(settings)
    publisher.check_connection()
    stream = ScenarioStream(get_scenario(scenario), seed=11, plan=plan)
    clock = EventClock.scenario(seed=11, nominal_rate=100.0, window_seconds=20.0)
    options = RunOptions(events=events, run_id="it")
    result = ProduceRun(stream, publisher, Topics.from_settings(settings), clock, options).run()
    publisher.raise_on_failures()
    return result


def _use(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    for name, value in settings.as_environment().items():
        monkeypatch.setenv(name, value)


def test_events_and_labels_arrive_complete_keyed_and_co_partitioned(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(topic_partitions=3)
    plan = DeliveryPlan(label_delay=LabelDelay.parse("fixed:250"), missing_share=0.2)
    result = _produce(settings, plan, 6_000)
    topics = Topics.from_settings(settings)
    events = read_topic(settings, topics.features, 6_000)
    labels = read_topic(settings, topics.labels, result.labels_sent)

    assert len(events) == 6_000 == len({e.key for e in events})
    assert all(e.key == e.value["event_id"].encode() for e in events)
    assert all(len(e.value["features"]) == 20 for e in events)
    assert len(labels) == result.labels_sent == 6_000 - result.labels_withheld
    assert result.labels_withheld / 6_000 == pytest.approx(0.2, abs=0.025)
    partition_of = {e.key: e.partition for e in events}
    for label in labels:
        assert label.key == label.value["event_id"].encode()
        # Same partition as its event, and the Java/kafka-python murmur2 choice of partition.
        assert label.partition == partition_of[label.key]
        assert label.partition == (murmur2(label.key) & 0x7FFFFFFF) % 3
    event_time = {e.key: datetime.fromisoformat(e.value["event_time"]) for e in events}
    gaps = {(datetime.fromisoformat(x.value["label_time"]) - event_time[x.key]).total_seconds()
            for x in labels}  # fmt: skip
    assert gaps == {2.5}  # 250 events at 100 events/s of scenario time


def test_label_delays_in_seconds_follow_the_distribution(make_settings: MakeSettings) -> None:
    settings = make_settings()
    plan = DeliveryPlan(label_delay=LabelDelay.parse("exponential:3", unit="seconds"))
    result = _produce(settings, plan, 4_000)
    topics = Topics.from_settings(settings)
    events = read_topic(settings, topics.features, 4_000)
    labels = read_topic(settings, topics.labels, 4_000)
    assert result.labels_sent == len(labels) == 4_000
    event_time = {e.key: datetime.fromisoformat(e.value["event_time"]) for e in events}
    gaps = np.array(
        [(datetime.fromisoformat(x.value["label_time"]) - event_time[x.key]).total_seconds()
         for x in labels]
    )  # fmt: skip
    assert gaps.min() >= 0
    assert gaps.mean() == pytest.approx(3.0, rel=0.1)
    assert np.median(gaps) == pytest.approx(3.0 * np.log(2), rel=0.12)


def test_the_manifest_change_point_is_where_the_feature_mean_moves(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = make_settings()
    _use(monkeypatch, settings)
    manifest_path = tmp_path / "run.manifest.json"
    code = main(["produce", "--source", "gaussian:world=3", "--drift",
                 "covariate@3000:features=x4,shift=2", "--events", "6000", "--rate", "0",
                 "--seed", "9", "--manifest", str(manifest_path), "--run-id", "cp",
                 "--no-progress"])  # fmt: skip
    assert code == 0
    manifest = read_manifest(manifest_path)
    (drift,) = manifest["drifts"]
    assert (drift["kind"], drift["start_index"], drift["params"]["features"]) == (
        "covariate", 3000, ["x4"])  # fmt: skip
    events = read_topic(settings, Topics.from_settings(settings).features, 6_000)
    by_index = sorted(events, key=lambda e: int(e.value["event_id"].rsplit("-", 1)[1]))
    x4 = np.array([e.value["features"]["x4"] for e in by_index])
    mean, sd = GaussianSource(world=3).feature_stats()["x4"]
    assert abs(x4[2000:3000].mean() - mean) < 0.15 * sd
    assert abs(x4[3000:4000].mean() - (mean + 2 * sd)) < 0.15 * sd
    assert by_index[3000].value["event_time"] == drift["start_time"]
    assert manifest["counts"]["events_sent"] == 6_000


def test_replay_of_a_river_dataset(
    make_settings: MakeSettings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings()
    _use(monkeypatch, settings)
    code = main(["produce", "--replay", "river:phishing", "--rate", "0", "--label-delay", "0",
                 "--manifest", str(tmp_path / "p.json"), "--no-progress"])  # fmt: skip
    assert code == 0
    assert "sent 1,250 events" in capsys.readouterr().out
    topics = Topics.from_settings(settings)
    events = read_topic(settings, topics.features, 1_250)
    labels = read_topic(settings, topics.labels, 1_250)
    assert len(events) == len(labels) == 1_250
    first = min(events, key=lambda e: int(e.value["event_id"].rsplit("-", 1)[1]))
    assert first.value["features"]["long_url"] == 1.0  # row 0 of river's phishing.csv.gz
    assert {x.value["label"] for x in labels} == {0, 1}


def test_bootstrap_registers_a_champion_once_unless_forced(
    make_settings: MakeSettings,
    mlflow_store: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(mlflow_tracking_uri=mlflow_store, model_name="boot-test")
    _use(monkeypatch, settings)
    assert main(["bootstrap", "--scenario", "concept-sudden", "--rows", "4000"]) == 0
    assert "registered boot-test version 1 as @champion" in capsys.readouterr().out
    assert alias_version(settings, CHAMPION) == "1"

    loaded = load_model(settings)
    assert loaded.trainer == "logistic_regression"
    assert len(loaded.profile.feature_names) == 20
    assert loaded.profile.n_rows == 1000  # the validation split
    assert loaded.profile.baseline_metrics["accuracy"] > 0.8
    frame = {name: np.zeros(5) for name in loaded.profile.feature_names}

    classes, probabilities = loaded.predict(pd.DataFrame(frame))
    assert len(classes) == 5 and probabilities is not None

    assert main(["bootstrap", "--scenario", "concept-sudden", "--rows", "4000"]) == 0
    assert "a champion exists: boot-test version 1" in capsys.readouterr().out
    assert alias_version(settings, CHAMPION) == "1"
    forced = ["bootstrap", "--scenario", "concept-sudden", "--rows", "4000", "--force",
              "--trainer", "random_forest", "--params", '{"n_estimators": 20}']  # fmt: skip
    assert main(forced) == 0
    assert "version 2 as @champion (was version 1)" in capsys.readouterr().out
    assert load_model(settings).trainer == "random_forest"


def test_ctrl_c_flushes_what_was_accepted_and_writes_the_manifest(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    settings = make_settings()
    create_topics(settings)
    manifest_path = tmp_path / "stopped.json"
    env = {**os.environ, **settings.as_environment()}
    process = subprocess.Popen(
        [sys.executable, "-m", "centinela.cli", "produce", "--scenario", "stable", "--forever",
         "--rate", "3000", "--manifest", str(manifest_path), "--no-progress"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    topics = Topics.from_settings(settings)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(read_topic(settings, topics.features, 1, 2)) < 1:
            assert process.poll() is None, process.communicate()[0]
            time.sleep(0.5)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        # The producer may spend up to its final flush budget waiting for acknowledgements.
        output, _ = process.communicate(timeout=FINAL_FLUSH_SECONDS + 60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Traceback" not in output and "(interrupted)" in output
    manifest = read_manifest(manifest_path)
    assert manifest["interrupted"] is True and manifest["counts"]["events_requested"] is None
    sent = manifest["counts"]["events_sent"]
    assert sent > 0
    assert len(read_topic(settings, topics.features, sent)) == sent
    assert (
        len(read_topic(settings, topics.labels, manifest["counts"]["labels_sent"]))
        == (manifest["counts"]["labels_sent"])
    )
