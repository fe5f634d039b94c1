"""Canary serving on the real broker and a real MLflow server: a `centinela stream` process
with ``CENTINELA_CANARY_SHARE=0.2`` and a retrain worker watching the live evidence.

The challenger learnt the opposite concept (it is truly worse). The canary serves 20% +- 1% of
the events, exactly the ones its hash picks, each event once by one version; once labels flow,
the retrain worker calls the challenger worse, stops the canary (a ``canary_stopped``
ModelEvent with the reason, a tag on the version), and the champion serves every later event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics, create_topics
from centinela.models.publishing import train_and_register
from centinela.models.registry import CANARY_STOPPED_TAG, CHALLENGER
from centinela.stack.mlflow_server import MlflowServer
from retrain.live_evidence import TRAINED_UNTIL_TAG
from stream.canary import served_by_canary
from stream.internal_topics import ensure_stream_topics
from tests.e2e.processes import run_command
from tests.retrain.support import running_worker
from tests.stream.stream_data import PROFILE_SAMPLE_SIZE, T0, labels_for, seeded_frame
from tests.stream.stream_scenario import Scenario, register_champion
from tests.stream.worker_process import WorkerProcess, count_by, publish, values, wait_for

pytestmark = pytest.mark.integration

SHARE = 0.2
SERVED = 10_000  # events before any label: the share is measured on them
LABELED = 3_000  # events with labels: the evidence that stops the canary
AFTER = 1_000  # events after the stop: all the champion's


@pytest.fixture
def canary_settings(
    make_settings: Callable[..., Settings], mlflow_server: MlflowServer
) -> Settings:
    tag = uuid.uuid4().hex[:8]
    settings = make_settings(
        mlflow_tracking_uri=mlflow_server.tracking_uri,
        model_name=f"canary-{tag}",
        retrain_group_id=f"canary-{tag}",
        window_seconds=2.0,
        allowed_lateness_seconds=2.0,
        batch_wait_ms=20,
        champion_poll_seconds=2.0,
        stream_app_id="canary-test",
        canary_share=SHARE,
        auto_promote_check_seconds=1.0,
    )
    create_topics(settings)
    ensure_stream_topics(settings)
    return settings


def register_worse_challenger(settings: Settings) -> str:
    """A challenger that learnt the inverted concept, trained on data before the stream's."""
    frame = seeded_frame(1500, seed=5)
    return train_and_register(
        settings,
        "logistic_regression",
        {},
        frame,
        labels_for(frame, flip=True),
        tags={TRAINED_UNTIL_TAG: (T0 - timedelta(days=1)).isoformat()},
        run_name="inverted-challenger",
        alias=CHALLENGER,
        sample_size=PROFILE_SAMPLE_SIZE,
    ).version


def test_the_canary_serves_its_share_and_stops_itself_when_the_challenger_is_worse(
    canary_settings: Settings, tmp_path: Path
) -> None:
    settings = canary_settings
    topics = Topics.from_settings(settings)
    register_champion(settings, seed=0)
    version = register_worse_challenger(settings)
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        wait_for(lambda: worker.status()["canary"]["share"] == SHARE, 60, "the canary", worker)

        served = Scenario(n=SERVED, label_share=0.0, prefix="c")
        publish(settings, topics.features, served.features)
        wait_for(lambda: len(values(settings, topics.predictions)) >= SERVED, 120, "scores",
                 worker)  # fmt: skip
        first = values(settings, topics.predictions)
        canary = {p["event_id"] for p in first if p["role"] == "canary"}
        assert canary == {e for e in served.ids() if served_by_canary(e, SHARE)}
        assert abs(len(canary) / SERVED - SHARE) <= 0.01
        assert {p["model_version"] for p in first if p["role"] == "canary"} == {version}

        with running_worker(settings, attempts=1):  # it watches the live evidence
            labeled = Scenario(n=LABELED, start=SERVED, label_share=1.0, prefix="c")
            publish(settings, topics.features, labeled.features)
            publish(settings, topics.labels, labeled.labels)
            wait_for(lambda: worker.status()["canary"]["stopped"] is not None, 180,
                     "the canary to stop", worker)  # fmt: skip
        status = worker.status()["canary"]
        assert status["share"] == 0.0 and "verdict: worse" in status["stopped"]

        after = Scenario(n=AFTER, start=SERVED + LABELED, label_share=0.0, prefix="c")
        publish(settings, topics.features, after.features)
        total = SERVED + LABELED + AFTER
        wait_for(lambda: len(values(settings, topics.predictions)) >= total, 120, "scores",
                 worker)  # fmt: skip

        predictions = values(settings, topics.predictions)
        assert len(predictions) == total
        assert count_by(predictions, "event_id").most_common(1)[0][1] == 1  # once each
        by_id = {p["event_id"]: p for p in predictions}
        assert {(by_id[e]["role"], by_id[e]["model_version"]) for e in after.ids()} == {
            ("champion", "1")
        }
        shadow = values(settings, topics.shadow_predictions)
        assert {s["event_id"] for s in shadow} & canary == set()  # one topic per answer
        assert after.ids() <= {s["event_id"] for s in shadow}  # still shadowed after the stop

        events = [m for m in values(settings, topics.model_events) if m["version"] == version]
        [stop] = [m for m in events if m["event_type"] == "canary_stopped"]
        assert stop["reason"].startswith("canary stopped: live:") and "worse" in stop["reason"]
        registry = MlflowClient(settings.mlflow_tracking_uri,
                                registry_uri=settings.mlflow_tracking_uri)  # fmt: skip
        tags = registry.get_model_version(settings.model_name, version).tags
        assert tags[CANARY_STOPPED_TAG] == stop["reason"]
        assert f"canary: {stop['reason']}" in run_command(settings, "models", "compare")
        # The stream's own running comparison, window after window, says the same.
        said: list[str] = []

        def stream_says_worse() -> bool:
            said[:] = [run_command(settings, "models", "compare")]
            return "stream: " in said[0] and "verdict: worse" in said[0].split("stream: ")[1]

        wait_for(stream_says_worse, 90, "the stream's comparison", worker)
        assert f"accuracy of v{version} minus v1 -" in said[0].split("stream: ")[1]
        served_by_challenger = [p for p in predictions if p["role"] == "canary"]
        assert all(served_by_canary(p["event_id"], SHARE) for p in served_by_challenger)
        metrics = worker.get("/metrics").text
        assert "centinela_canary_share 0.0" in metrics
        assert f"centinela_canary_predictions_total {len(served_by_challenger)}.0" in metrics
    finally:
        worker.stop()
