"""Every process on an `mlflow server` behind basic auth, as separate processes.

With the admin's credentials in ``CENTINELA_MLFLOW_TRACKING_USERNAME`` and ``_PASSWORD`` a stream
worker loads its champion and logs its monitoring run, a retrain worker registers a challenger,
and `centinela models` shows and promotes it. With a wrong password (or none) each of them stops
at once with a message naming those settings. The password shows in no log the test produced,
the MLflow server's included, and the worker prints its tracking URI without the user and
password that the URI itself carries.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from centinela.contract.settings import Settings
from centinela.stack.mlflow_server import BasicAuth, MlflowServer
from stream.internal_topics import ensure_stream_topics
from tests.e2e.processes import run_command
from tests.retrain import support as retrain_data
from tests.stream.stream_scenario import Scenario
from tests.stream.stream_scenario import register_champion as register_stream_champion
from tests.stream.test_worker_integration import publish_scenario, reports
from tests.stream.worker_process import WorkerProcess, wait_for

pytestmark = pytest.mark.integration

CREDENTIALS = "CENTINELA_MLFLOW_TRACKING_USERNAME and CENTINELA_MLFLOW_TRACKING_PASSWORD"
WRONG = "not-the-password-42"


def admin_of(server: MlflowServer) -> BasicAuth:
    assert server.auth is not None
    return server.auth


@pytest.fixture
def auth_settings(
    make_settings: Callable[..., Settings], mlflow_auth_server: MlflowServer
) -> Callable[..., Settings]:
    """Settings on the authenticated server with the admin's credentials and names of their
    own (model, experiments, groups)."""
    admin = admin_of(mlflow_auth_server)

    def factory(**overrides: Any) -> Settings:
        tag = uuid.uuid4().hex[:8]
        values: dict[str, Any] = {
            "mlflow_tracking_uri": mlflow_auth_server.tracking_uri,
            "mlflow_tracking_username": admin.admin_username,
            "mlflow_tracking_password": admin.admin_password,
            "model_name": f"auth-{tag}",
            "training_experiment": f"training-{tag}",
            "monitoring_experiment": f"monitoring-{tag}",
            "retrain_group_id": f"retrain-{tag}",
            "stream_app_id": f"stream-{tag}",
            "retrain_min_rows": 200,
            "retrain_target_rows": 0,
            "reference_sample_size": 500,
            "window_seconds": 2.0,
            "allowed_lateness_seconds": 2.0,
            "join_ttl_seconds": 5.0,
            "batch_wait_ms": 20,
            "champion_poll_seconds": 2.0,
            "report_every_windows": 2,
        }
        values.update(overrides)
        return make_settings(**values)

    return factory


def with_credentials_in_uri(settings: Settings, username: str, password: str) -> Settings:
    """The same settings with ``user:password@`` in the tracking URI as well."""
    uri = settings.mlflow_tracking_uri.replace("http://", f"http://{username}:{password}@")
    return settings.model_copy(update={"mlflow_tracking_uri": uri})


def test_every_process_works_with_the_credentials_and_never_shows_them(
    auth_settings: Callable[..., Settings],
    mlflow_auth_server: MlflowServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = admin_of(mlflow_auth_server)
    password = admin.admin_password.get_secret_value()
    produced: dict[str, str] = {}

    # The stream worker: its champion, then a monitoring run with every window's statistics.
    stream = auth_settings()
    register_stream_champion(stream)
    ensure_stream_topics(stream)
    shown = with_credentials_in_uri(stream, admin.admin_username, password)
    worker = WorkerProcess(shown, tmp_path / "stream.log").start()
    try:
        worker.wait_ready()
        scenario = Scenario(n=3000, spacing=0.002, delay=0.5, label_share=0.9)
        publish_scenario(stream, scenario)

        # Meanwhile, the retrain worker and the review commands, each a process of its own.
        retrain = auth_settings()
        retrain_data.register_champion(retrain)
        start = retrain_data.recent(20)
        frame, labels = retrain_data.labeled_frame(800, seed=21, shift=0.6)
        rows = retrain_data.examples(frame, labels, model=retrain.model_name, start=start)
        retrain_data.write_labeled(retrain, rows)
        retrain_data.send_request(
            retrain, retrain_data.request_for(retrain, start, rows[-1].label_time)
        )
        produced["retrain"] = run_command(retrain, "retrain", "--max-requests", "1")
        assert "handled 1 retrain request(s)" in produced["retrain"]
        [registered] = retrain_data.wait_for_events(retrain, lambda e: e.event_type == "registered")
        assert registered.version == "2", registered.reason

        produced["status"] = run_command(retrain, "models", "status", "--json")
        status = json.loads(produced["status"][produced["status"].index("{") :])
        assert (status["champion"]["version"], status["challenger"]["version"]) == ("1", "2")
        produced["promote"] = run_command(retrain, "models", "promote", "--reason", "auth test")
        assert "promoted" in produced["promote"]
        produced["status after"] = run_command(retrain, "models", "status", "--json")
        assert '"champion": {' in produced["status after"]
        after = json.loads(produced["status after"][produced["status after"].index("{") :])
        assert after["champion"]["version"] == "2"

        wait_for(lambda: worker.status()["mlflow_windows_logged"] >= 2, 90, "MLflow", worker)
    finally:
        worker.stop()
    produced["stream"] = worker.log_path.read_text(errors="replace")

    # Read back from the server: the worker's monitoring run holds the windows it reported.
    client = MlflowClient(stream.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(stream.monitoring_experiment)
    assert experiment is not None
    [run] = client.search_runs([experiment.experiment_id])
    logged = {m.step for m in client.get_metric_history(run.info.run_id, "n_events")}
    assert len(logged) >= 2
    assert logged <= {r["window_id"] for r in reports(stream)}

    # The tracking URI the worker printed: the address, without the user and password in it.
    address = mlflow_auth_server.tracking_uri
    started = f"stream worker {stream.stream_app_id}:"
    [line] = [row for row in produced["stream"].splitlines() if started in row]
    assert line.endswith(f"MLflow {address}"), line

    produced["mlflow server"] = mlflow_auth_server.process.log_file.read_text(errors="replace")
    produced["this process"] = caplog.text + "".join(capsys.readouterr())
    leaked = [name for name, text in produced.items() if password in text]
    assert not leaked, f"the MLflow password shows in: {leaked}"


@pytest.mark.parametrize(
    "command",
    [("models", "status"), ("retrain", "--max-requests", "1"), ("stream",)],
    ids=["models", "retrain", "stream"],
)
def test_a_wrong_password_stops_each_process_with_the_settings_named(
    auth_settings: Callable[..., Settings],
    mlflow_auth_server: MlflowServer,
    command: tuple[str, ...],
) -> None:
    settings = with_credentials_in_uri(
        auth_settings(mlflow_tracking_password=WRONG), "intruder", WRONG
    )
    began = time.monotonic()
    output = run_command(settings, *command, timeout=120, exit_code=2)
    took = time.monotonic() - began

    user = admin_of(mlflow_auth_server).admin_username
    assert f"refused the password of user {user!r} (HTTP 401); check {CREDENTIALS}" in output
    assert f"MLflow at {mlflow_auth_server.tracking_uri} refused" in output
    assert WRONG not in output and "intruder" not in output
    assert took < 60, f"`centinela {' '.join(command)}` took {took:.0f}s to give up"


def test_no_credentials_for_a_server_that_wants_them_is_a_clear_error(
    auth_settings: Callable[..., Settings],
) -> None:
    settings = auth_settings(mlflow_tracking_username=None, mlflow_tracking_password=None)
    output = run_command(settings, "models", "status", exit_code=2)
    assert f"needs a login (HTTP 401); set {CREDENTIALS}" in output
