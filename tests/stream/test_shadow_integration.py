"""Shadow scoring on the real broker and a real MLflow store, by a `centinela stream` process.

While a version carries the ``challenger`` alias, every event gets exactly one shadow
prediction from it on ``shadow-predictions`` (and none on ``predictions``); once the challenger
is rejected (alias removed) or promoted (the champion alias moved onto it), they stop. The
worker is never restarted. With labels flowing, each window's report carries the challenger's
labeled count and realised accuracy beside the champion's on the same events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from mlflow.tracking import MlflowClient

from centinela.contract.records import ModelEvent
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.models.registry import CHALLENGER, CHAMPION
from centinela.stack.mlflow_server import MlflowServer
from stream.internal_topics import ensure_stream_topics
from tests.stream.stream_scenario import Scenario, register_champion
from tests.stream.worker_process import WorkerProcess, count_by, publish, values, wait_for

pytestmark = pytest.mark.integration

BATCH = 400  # events per phase


@pytest.fixture
def shadow_settings(
    make_settings: Callable[..., Settings], mlflow_server: MlflowServer
) -> Settings:
    # An MLflow server, as several processes share the registry here (this test moves the
    # aliases while the worker reads them); a model of its own on the shared server.
    return make_settings(
        mlflow_tracking_uri=mlflow_server.tracking_uri,
        model_name=f"shadow-{uuid.uuid4().hex[:8]}",
        window_seconds=2.0,
        allowed_lateness_seconds=2.0,
        batch_wait_ms=20,
        champion_poll_seconds=2.0,
        stream_app_id="shadow-test",
    )


class Run:
    """The worker under test, its topics, and the phases of events published so far."""

    def __init__(self, settings: Settings, worker: WorkerProcess) -> None:
        self.settings = settings
        self.worker = worker
        self.topics = Topics.from_settings(settings)
        self.published = 0

    def phase(self) -> set[str]:
        """Publish the next events and wait until every one is scored; their ids."""
        scenario = Scenario(n=BATCH, start=self.published, label_share=0.0)
        publish(self.settings, self.topics.features, scenario.features)
        self.published += BATCH
        wait_for(lambda: len(self.predictions()) >= self.published, 60, "predictions", self.worker)
        return scenario.ids()

    def predictions(self) -> list[dict[str, Any]]:
        return values(self.settings, self.topics.predictions)

    def shadow(self) -> list[dict[str, Any]]:
        return values(self.settings, self.topics.shadow_predictions)

    def announce(self, kind: str, version: str) -> None:
        event = ModelEvent(event_type=kind, model_name=self.settings.model_name, version=version)  # type: ignore[arg-type]
        key = self.settings.model_name.encode()
        publish(self.settings, self.topics.model_events, [(key, event.model_dump_json().encode())])

    def challenger_is(self, version: str | None) -> None:
        def shown() -> bool:
            challenger = self.worker.status()["challenger"]
            return (None if challenger is None else challenger["version"]) == version

        wait_for(shown, 60, f"challenger {version} in /status", self.worker)


def shadowed(records: list[dict[str, Any]], ids: set[str]) -> list[dict[str, Any]]:
    return [r for r in records if r["event_id"] in ids]


def test_shadow_predictions_while_a_challenger_exists_and_none_once_rejected_or_promoted(
    shadow_settings: Settings, tmp_path: Path
) -> None:
    settings = shadow_settings
    registry = MlflowClient(settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)
    name = settings.model_name
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    run = Run(settings, worker)
    try:
        worker.wait_ready()
        before = run.phase()  # no challenger: no shadow, and the worker is ready
        assert worker.status()["challenger"] is None and worker.status()["ready"]

        register_champion(settings, seed=1, alias=CHALLENGER)  # version 2
        run.announce("registered", "2")
        run.challenger_is("2")
        assert worker.status()["ready"]
        gauge = 'centinela_challenger_version{version="2"} 1.0'
        wait_for(lambda: gauge in worker.get("/metrics").text, 30, "the gauge", worker)
        during = run.phase()
        wait_for(lambda: len(run.shadow()) >= BATCH, 60, "shadow predictions", worker)

        registry.delete_registered_model_alias(name, CHALLENGER)  # rejected
        run.announce("rejected", "2")
        run.challenger_is(None)
        after_reject = run.phase()

        register_champion(settings, seed=2, alias=CHALLENGER)  # version 3
        run.announce("registered", "3")
        run.challenger_is("3")
        second = run.phase()
        wait_for(lambda: len(run.shadow()) >= 2 * BATCH, 60, "shadow predictions", worker)

        # Promoted: the champion alias moves onto it (the challenger alias is left in place,
        # as for a moment in the review flow): it is no longer shadowed, it scores.
        registry.set_registered_model_alias(name, CHAMPION, "3")
        run.announce("promoted", "3")
        wait_for(lambda: worker.status()["champion"]["version"] == "3", 60, "the swap", worker)
        run.challenger_is(None)
        after_promotion = run.phase()

        predictions, shadow = run.predictions(), run.shadow()
        assert len(predictions) == 5 * BATCH
        assert count_by(predictions, "event_id").most_common(1)[0][1] == 1
        assert {p["role"] for p in predictions} == {"champion"}
        version = {p["event_id"]: p["model_version"] for p in predictions}
        assert {version[i] for i in before | during | after_reject | second} == {"1"}
        assert {version[i] for i in after_promotion} == {"3"}

        assert count_by(shadow, "event_id").most_common(1)[0][1] == 1  # one per event
        assert {s["event_id"] for s in shadow} == during | second
        assert {s["role"] for s in shadow} == {"shadow"}
        assert {s["model_version"] for s in shadowed(shadow, during)} == {"2"}
        assert {s["model_version"] for s in shadowed(shadow, second)} == {"3"}
        assert {s["model_name"] for s in shadow} == {name}
        assert all(abs(sum(s["probabilities"].values()) - 1) < 1e-9 for s in shadow)

        status = worker.status()
        assert status["shadow"]["predictions_total"] == 2 * BATCH
        assert status["shadow"]["skipped_batches"] == 0
        assert status["ready"] and status["hot_swaps"] == 1
        metrics = worker.get("/metrics").text
        assert f"centinela_shadow_predictions_total {2 * BATCH}.0" in metrics
        assert "centinela_challenger_version{" not in metrics
    finally:
        worker.stop()


def test_with_labels_flowing_each_window_reports_the_challenger_beside_the_champion(
    make_settings: Callable[..., Settings], mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    """The drift reports' challenger numbers equal what the topics say: the shadow predictions
    and the champion's, joined here to the labels this test published, per window of the label
    time. /status, /metrics and the MLflow monitoring run show them too."""
    settings = make_settings(
        mlflow_tracking_uri=mlflow_server.tracking_uri,
        model_name=f"shadow-labels-{uuid.uuid4().hex[:8]}",
        monitoring_experiment=f"shadow-monitoring-{uuid.uuid4().hex[:8]}",
        window_seconds=2.0,
        allowed_lateness_seconds=2.0,
        batch_wait_ms=20,
        champion_poll_seconds=2.0,
        report_every_windows=1,
        stream_app_id="shadow-labels-test",
    )
    name = settings.model_name
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    run = Run(settings, worker)
    try:
        worker.wait_ready()
        register_champion(settings, seed=4, alias=CHALLENGER)  # version 2
        run.announce("registered", "2")
        run.challenger_is("2")
        # 400 events over 4 s of event time (windows of 2 s); 70% labeled half a second
        # later, a fifth of those labels wrong for both models, so the accuracies differ.
        scenario = Scenario(n=BATCH, spacing=0.01, label_share=0.7, seed=5)
        labels = {}
        flipped = []
        for k, (key, value) in enumerate(scenario.labels):
            label = orjson.loads(value)
            if k % 5 == 0:
                label["label"] = 1 - label["label"]
            labels[label["event_id"]] = label
            flipped.append((key, orjson.dumps(label)))
        publish(settings, run.topics.features, scenario.features)
        publish(settings, run.topics.labels, flipped)
        wait_for(lambda: len(run.shadow()) >= BATCH, 60, "shadow predictions", worker)
        shadow = {s["event_id"]: s for s in run.shadow()}
        champion = {p["event_id"]: p for p in run.predictions()}
        assert {s["model_version"] for s in shadow.values()} == {"2"}

        expected: dict[int, list[tuple[bool, bool]]] = {}
        for event_id, label in labels.items():
            moment = max(moment_of(label["label_time"]), moment_of(shadow[event_id]["event_time"]))
            window = int(moment // settings.window_seconds)
            right = (
                shadow[event_id]["predicted_class"] == label["label"],
                champion[event_id]["predicted_class"] == label["label"],
            )
            expected.setdefault(window, []).append(right)
        assert len(expected) >= 2

        def reports() -> dict[int, dict[str, Any]]:
            found = values(settings, run.topics.drift)
            return {r["window_id"]: r for r in found if r["model_name"] == name}

        wait_for(lambda: set(expected) <= set(reports()), 90, "the windows' reports", worker)
        reported = reports()
        for window, outcomes in expected.items():
            report = reported[window]
            assert report["model_version"] == "1" and report["challenger_version"] == "2"
            assert report["challenger_labeled"] == len(outcomes) == report["n_labeled"]
            ours = sum(c for c, _ in outcomes) / len(outcomes)
            theirs = sum(c for _, c in outcomes) / len(outcomes)
            assert report["challenger_performance"]["accuracy"] == pytest.approx(ours, abs=1e-12)
            paired = report["challenger_paired_champion"]["accuracy"]
            assert paired == pytest.approx(theirs, abs=1e-12)
            assert paired == pytest.approx(report["performance"]["accuracy"], abs=1e-12)
        assert any(c != p for outcomes in expected.values() for c, p in outcomes)
        # The running always-valid comparison: every window's pairs so far, counted once.
        pairs: list[tuple[bool, bool]] = []
        for window in sorted(expected):
            pairs += expected[window]
            live = reported[window]["challenger_live"]
            assert live["events"] == len(pairs) and live["through_window"] == window
            assert live["challenger_only_right"] == sum(c and not p for c, p in pairs)
            assert live["champion_only_right"] == sum(p and not c for c, p in pairs)
            assert live["verdict"] in ("better", "worse", "not yet known")

        shown = [w for w in worker.status()["windows"] if w["window_id"] in expected]
        assert shown and all(w["challenger"]["version"] == "2" for w in shown)
        last = max(expected)
        gauge = 'centinela_challenger_labeled{version="2"}'
        wait_for(lambda: gauge in worker.get("/metrics").text, 30, "the gauges", worker)
        metrics = worker.get("/metrics").text
        assert 'centinela_challenger_accuracy{version="2"}' in metrics
        assert 'centinela_challenger_paired_champion_accuracy{version="2"}' in metrics
        assert 'centinela_challenger_live_verdict{version="2"}' in metrics

        client = MlflowClient(settings.mlflow_tracking_uri)

        def logged() -> dict[int, float]:
            experiment = client.get_experiment_by_name(settings.monitoring_experiment)
            if experiment is None:
                return {}
            runs = client.search_runs([experiment.experiment_id])
            if not runs:
                return {}
            history = client.get_metric_history(runs[0].info.run_id, "challenger_labeled")
            return {m.step: m.value for m in history}

        wait_for(lambda: last in logged(), 60, "the MLflow metrics", worker)
        steps = logged()
        assert {w: steps[w] for w in expected} == {w: float(len(o)) for w, o in expected.items()}
    finally:
        worker.stop()


def moment_of(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
