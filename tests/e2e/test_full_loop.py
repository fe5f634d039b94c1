"""The whole loop with every part as its own process, on a real broker and a real MLflow server:

concept change -> alert -> one retrain request -> one challenger (alias) -> `models promote`
-> predictions carry the new version; no event unscored, none scored twice after dedup. The
scenario is a concept change (``concept-sudden``): data drift alone asks for no challenger.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from centinela.contract.settings import Settings
from centinela.contract.topics import create_topics
from centinela.models.registry import alias_version
from centinela.stack.mlflow_server import MlflowServer
from centinela.stack.process import free_port
from tests.e2e.processes import Service, champion_version, http_ok, run_command, wait_for
from tests.e2e.topic_reader import Seen

pytestmark = pytest.mark.e2e

DRIFT_EVENTS = 30_000  # concept-sudden turns its label function at event 20,000
AFTER_PROMOTION_EVENTS = 4_000


def test_drift_to_promoted_challenger(
    make_settings: Callable[..., Settings], mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    settings = make_settings(
        mlflow_tracking_uri=mlflow_server.tracking_uri,
        model_name=f"e2e-{run}",
        monitoring_experiment=f"e2e-monitoring-{run}",
        training_experiment=f"e2e-training-{run}",
        stream_app_id=f"e2e-stream-{run}",
        retrain_group_id=f"e2e-retrain-{run}",
        stream_web_port=free_port(),
        champion_poll_seconds=2.0,
        topic_partitions=2,
        # 10,000 events after the change at most, the last window's labels late: ask for fewer.
        retrain_target_rows=6_000,
        retrain_wait_seconds=120.0,
    )
    create_topics(settings)
    run_command(settings, "bootstrap", "--scenario", "concept-sudden", "--rows", "10000")
    champion = alias_version(settings, "champion")
    assert champion is not None

    services = [
        Service(settings, tmp_path / "stream.log", "stream"),
        Service(settings, tmp_path / "retrain.log", "retrain"),
    ]
    seen = Seen(settings)
    try:
        ready = f"http://127.0.0.1:{settings.stream_web_port}/ready"
        wait_for(lambda: http_ok(ready), 180, "the stream worker to be ready", services)

        run_command(
            settings, "produce", "--scenario", "concept-sudden", "--events", str(DRIFT_EVENTS),
            "--rate", "0", "--seed", "3", "--no-progress", "--epoch", "2026-01-01T00:00:00Z",
        )  # fmt: skip
        wait_for(lambda: bool(seen.refresh().registered()), 420, "a challenger", services)
        wait_for(seen.all_scored, 120, "every event to be scored", services)

        assert any(a.kind in ("concept_drift", "performance_drop") for a in seen.alerts)
        assert len(seen.requests) == 1, [r.request_id for r in seen.requests]
        assert seen.requests[0].reason in ("concept_drift", "performance_drop")
        (registered,) = seen.registered()
        assert registered.request_id == seen.requests[0].request_id
        challenger = alias_version(settings, "challenger")
        assert challenger == registered.version and challenger != champion

        run_command(settings, "models", "promote", "--reason", "e2e: reviewed the comparison")
        assert alias_version(settings, "champion") == challenger
        wait_for(
            lambda: any(e.event_type == "promoted" for e in seen.refresh().model_events),
            30, "the promoted model event", services,
        )  # fmt: skip
        status = f"http://127.0.0.1:{settings.stream_web_port}/status"
        wait_for(lambda: champion_version(status) == challenger, 60, "the hot swap", services)
        before_promotion = set(seen.feature_ids)

        run_command(
            settings, "produce", "--scenario", "stable", "--events", str(AFTER_PROMOTION_EVENTS),
            "--rate", "0", "--seed", "4", "--no-progress", "--epoch", "2026-01-02T00:00:00Z",
        )  # fmt: skip
        wait_for(seen.all_scored, 120, "the events after promotion to be scored", services)
    finally:
        for service in services:
            service.stop()
        seen.reader.close()

    after_promotion = set(seen.feature_ids) - before_promotion
    assert len(after_promotion) == AFTER_PROMOTION_EVENTS
    versions_after = {p.model_version for p in seen.predictions if p.event_id in after_promotion}
    assert versions_after == {challenger}
    # At-least-once: duplicates may exist, but after dedup by event_id every event is scored once.
    assert len(seen.feature_ids) == DRIFT_EVENTS + AFTER_PROMOTION_EVENTS
    assert seen.scored_ids() == set(seen.feature_ids)
