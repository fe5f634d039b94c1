"""Shadow scoring on the real broker and a real MLflow store, by a `centinela stream` process.

While a version carries the ``challenger`` alias, every event gets exactly one shadow
prediction from it on ``shadow-predictions`` (and none on ``predictions``); once the challenger
is rejected (alias removed) or promoted (the champion alias moved onto it), they stop. The
worker is never restarted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
