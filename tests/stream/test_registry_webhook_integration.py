"""A champion moved in the registry reaches every worker of a group through MLflow's webhook,
with no model event and no poll (real MLflow server, real broker)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import requests
from mlflow.tracking import MlflowClient

from centinela.contract.settings import Settings
from centinela.stack.mlflow_server import WEBHOOK_CACHE_SECONDS, MlflowServer
from stream.internal_topics import ensure_stream_topics
from stream.registry_webhook import PATH, signed_headers
from tests.stream.stream_scenario import register_champion
from tests.stream.worker_process import WorkerProcess, wait_for

SECRET = "webhook-s3cret-for-tests"


def test_a_webhook_swaps_the_champion_on_every_worker_of_the_group(
    make_settings: Callable[..., Settings], mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    settings = make_settings(
        mlflow_tracking_uri=mlflow_server.tracking_uri,
        model_name=f"webhook-{tmp_path.name}"[:60],
        champion_poll_seconds=3600.0,  # the poll cannot be what swaps within the test
        mlflow_webhook_secret=SECRET,
        topic_partitions=2,
    )
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    workers = [WorkerProcess(settings, tmp_path / f"worker{i}.log").start() for i in range(2)]
    registry = MlflowClient(settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)
    try:
        for worker in workers:
            worker.wait_ready()
        hooks = [w.status()["registry_webhook"] for w in workers]
        assert all(hook["id"] for hook in hooks), hooks
        assert {h.url for h in registry.list_webhooks()} >= {hook["url"] for hook in hooks}

        register_champion(settings, seed=1, alias=None)  # version 2, no alias, no model event
        time.sleep(WEBHOOK_CACHE_SECONDS + 1)  # the server's list of listeners is refreshed
        moved_at = time.monotonic()
        registry.set_registered_model_alias(settings.model_name, "champion", "2")
        for worker in workers:
            wait_for(lambda w=worker: w.status()["champion"]["version"] == "2", 60, "swap", worker)
        assert time.monotonic() - moved_at < 60  # far below the hour-long poll
        assert all(w.status()["registry_webhook"]["accepted"] >= 1 for w in workers)

        forged = b'{"data": {"name": "%s", "alias": "champion", "version": "1"}}' % (
            settings.model_name.encode()
        )
        headers = signed_headers("not-the-secret", "forged-1", str(int(time.time())), forged)
        answer = requests.post(workers[0].url(PATH), data=forged, headers=headers, timeout=5)
        assert answer.status_code == 401
        assert workers[0].status()["registry_webhook"]["refused"] == 1
        assert workers[0].status()["champion"]["version"] == "2"
    finally:
        for worker in workers:
            worker.stop()
    left = [h.name for h in registry.list_webhooks() if h.url in {w["url"] for w in hooks}]
    assert left == []  # each worker deleted its webhook when it stopped
    for worker in workers:
        assert SECRET not in worker.log_path.read_text(errors="replace")
