"""MLflow on a real PostgreSQL server, as docker-compose.yml runs it: the review flow, a stream
worker's monitoring run, and the registry's webhooks on alias moves.

Every fact is read back twice: through the MLflow server, and straight from its PostgreSQL
tables, so a test cannot pass on some other store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from mlflow.tracking import MlflowClient

from centinela.cli import main
from centinela.contract.settings import Settings
from centinela.models.registry import CHALLENGER, CHAMPION
from centinela.stack.mlflow_server import MlflowServer
from centinela.stack.postgres import PostgresServer
from retrain.catalog import Catalog
from retrain.job import run_request
from stream.internal_topics import ensure_stream_topics
from tests.retrain import support as retrain_data
from tests.retrain.test_review_integration import use
from tests.stream.stream_scenario import Scenario
from tests.stream.stream_scenario import register_champion as register_stream_champion
from tests.stream.test_worker_integration import publish_scenario, reports
from tests.stream.worker_process import WorkerProcess, wait_for

pytestmark = pytest.mark.integration

SECRET = "webhook-signing-secret"


@pytest.fixture
def postgres_settings(
    make_settings: Callable[..., Settings], mlflow_postgres_server: MlflowServer
) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return make_settings(
        mlflow_tracking_uri=mlflow_postgres_server.tracking_uri,
        model_name=f"pg-{tag}",
        training_experiment=f"training-{tag}",
        monitoring_experiment=f"monitoring-{tag}",
        retrain_group_id=f"retrain-{tag}",
        stream_app_id=f"stream-{tag}",
        retrain_min_rows=200,
        retrain_target_rows=0,
        reference_sample_size=500,
        window_seconds=2.0,
        allowed_lateness_seconds=2.0,
        join_ttl_seconds=5.0,
        batch_wait_ms=20,
        champion_poll_seconds=2.0,
        report_every_windows=2,
    )


def query(postgres: PostgresServer, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows straight from MLflow's PostgreSQL database."""
    with psycopg.connect(postgres.database_uri) as connection:
        return connection.execute(sql, params).fetchall()  # type: ignore[arg-type]


@dataclass
class Delivery:
    headers: dict[str, str]
    body: str

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    def signed_with(self, secret: str) -> bool:
        """Whether the X-MLflow-Signature is the HMAC of this delivery under ``secret``."""
        content = f"{self.headers['X-MLflow-Delivery-Id']}.{self.headers['X-MLflow-Timestamp']}"
        digest = hmac.new(secret.encode(), f"{content}.{self.body}".encode(), hashlib.sha256)
        expected = "v1," + base64.b64encode(digest.digest()).decode()
        return hmac.compare_digest(self.headers["X-MLflow-Signature"], expected)


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[Delivery]]]:
    """An HTTP endpoint on 127.0.0.1 that keeps every POST it gets."""
    received: list[Delivery] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append(Delivery(dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/mlflow", received
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_the_review_flow_on_postgres_with_a_webhook_on_alias_moves(
    postgres_settings: Settings,
    postgres_server: PostgresServer,
    webhook_receiver: tuple[str, list[Delivery]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = postgres_settings
    url, received = webhook_receiver
    client = MlflowClient(settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)
    hook = client.create_webhook(
        f"alias-moves-{settings.model_name}",
        url,
        events=["model_version_alias.created"],
        secret=SECRET,
    )
    try:
        retrain_data.register_champion(settings)
        start = retrain_data.recent(20)
        frame, labels = retrain_data.labeled_frame(800, seed=21, shift=0.6)
        rows = retrain_data.examples(frame, labels, model=settings.model_name, start=start)
        retrain_data.write_labeled(settings, rows)
        request = retrain_data.request_for(settings, start, rows[-1].label_time)
        assert run_request(settings, request).event.version == "2"
        capsys.readouterr()
        use(settings, monkeypatch, tmp_path)

        assert main(["models", "status", "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert (status["champion"]["version"], status["challenger"]["version"]) == ("1", "2")
        assert main(["models", "compare"]) == 0
        assert "challenger v2" in capsys.readouterr().out
        assert main(["models", "promote", "--reason", "better on pg", "--actor", "ana"]) == 0
        assert Catalog(settings).aliases() == {CHAMPION: "2"}
        moves = [(m.action, m.alias, m.version) for m in Catalog(settings).history()]
        assert moves == [("register", CHALLENGER, "2"), ("promote", CHAMPION, "2")]

        # The same in MLflow's tables on PostgreSQL.
        aliases = query(
            postgres_server,
            "SELECT alias, version FROM registered_model_aliases WHERE name = %s",
            settings.model_name,
        )
        assert dict(aliases) == {CHAMPION: 2}
        [(promoted_by,)] = query(
            postgres_server,
            "SELECT value FROM model_version_tags WHERE name = %s AND version = 2 AND key = %s",
            settings.model_name,
            "centinela.promoted_by",
        )
        assert promoted_by == "ana"

        # Each alias set, the champion's first, the challenger's, the promotion, was POSTed.
        wanted = [(CHAMPION, "1"), (CHALLENGER, "2"), (CHAMPION, "2")]

        def ours() -> list[Delivery]:
            return [d for d in received if d.payload["data"]["name"] == settings.model_name]

        wait_for(lambda: len(ours()) >= len(wanted), 60, "the webhook's deliveries")
        deliveries = ours()
        assert [(d.payload["data"]["alias"], d.payload["data"]["version"]) for d in deliveries] == (
            wanted
        )
        assert {(d.payload["entity"], d.payload["action"]) for d in deliveries} == {
            ("model_version_alias", "created")
        }
        assert all(d.signed_with(SECRET) for d in deliveries)
        assert not any(d.signed_with("another secret") for d in deliveries)
    finally:
        client.delete_webhook(hook.webhook_id)


def test_a_stream_worker_logs_its_monitoring_run_to_postgres(
    postgres_settings: Settings, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    settings = postgres_settings
    register_stream_champion(settings)
    ensure_stream_topics(settings)
    worker = WorkerProcess(settings, tmp_path / "stream.log").start()
    try:
        worker.wait_ready()
        publish_scenario(settings, Scenario(n=3000, spacing=0.002, delay=0.5, label_share=0.9))
        wait_for(lambda: worker.status()["mlflow_windows_logged"] >= 2, 90, "MLflow", worker)
        logged = worker.status()["mlflow_windows_logged"]
    finally:
        worker.stop()

    client = MlflowClient(settings.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(settings.monitoring_experiment)
    assert experiment is not None
    [run] = client.search_runs([experiment.experiment_id])
    history = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "n_events")}
    reported = {r["window_id"]: r["n_events"] for r in reports(settings)}
    assert len(history) >= logged >= 2
    assert all(history[window] == reported[window] for window in history)

    rows = query(
        postgres_server,
        "SELECT m.step, m.value FROM metrics m JOIN runs r ON r.run_uuid = m.run_uuid "
        "JOIN experiments e ON e.experiment_id = r.experiment_id "
        "WHERE e.name = %s AND m.key = 'n_events'",
        settings.monitoring_experiment,
    )
    assert dict(rows) == history
