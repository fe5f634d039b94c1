"""The monitoring sinks: MLflow logging through an outage, the alert webhook with retries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from centinela.contract.records import DriftReport, FeatureDrift
from centinela.contract.settings import Settings
from stream.alerts import Webhook, alerts_for
from stream.monitoring import MonitoringLogger
from stream.prometheus import StreamMetrics

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def report(window: int, *, drifted: bool = False) -> DriftReport:
    return DriftReport(
        model_name="m",
        model_version="3",
        window_id=window,
        window_start=T0 + timedelta(seconds=20 * window),
        window_end=T0 + timedelta(seconds=20 * (window + 1)),
        n_events=100 + window,
        n_labeled=50,
        features=(
            FeatureDrift(
                feature="x0", kind="numeric", test="ks", statistic=0.1, p_value=0.4, drifted=drifted
            ),
        ),
        performance={"accuracy": 0.9},
        data_drift=drifted,
        drifted_features=("x0",) if drifted else (),
    )


def wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_window_metrics_survive_an_mlflow_outage_and_overflow_is_counted(
    mlflow_store: str, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        mlflow_tracking_uri=mlflow_store,
        metrics_queue_size=3,
        report_every_windows=2,
        home=tmp_path,
    )
    down = threading.Event()
    down.set()

    def client() -> MlflowClient:
        if down.is_set():
            raise ConnectionError("MLflow is down")
        return MlflowClient(tracking_uri=mlflow_store)

    metrics = StreamMetrics()
    logger = MonitoringLogger(settings, metrics, client_factory=client)
    logger.start()
    try:
        accepted = [logger.submit(report(w)) for w in range(6)]
        # One batch is held by the retrying thread, three wait in the queue, the rest overflow.
        assert accepted.count(False) == logger.overflow >= 2
        assert b"centinela_mlflow_queue_overflow_total" in metrics.render()
        down.clear()  # MLflow is back
        wait(lambda: logger.logged == accepted.count(True))
    finally:
        logger.stop()
    mlflow = MlflowClient(tracking_uri=mlflow_store)
    experiment = mlflow.get_experiment_by_name(settings.monitoring_experiment)
    assert experiment is not None
    [run] = mlflow.search_runs([experiment.experiment_id])
    history = mlflow.get_metric_history(run.info.run_id, "n_events")
    logged = [w for w, ok in enumerate(accepted) if ok]
    assert sorted(m.step for m in history) == logged
    assert {m.step: m.value for m in history} == {w: 100 + w for w in logged}
    assert {m.step: m.timestamp for m in history}[logged[0]] == int(
        report(logged[0]).window_end.timestamp() * 1000
    )
    artifacts = [a.path for a in mlflow.list_artifacts(run.info.run_id, "drift_reports")]
    assert any(a.endswith(".png") for a in artifacts) and any(
        a.endswith(".json") for a in artifacts
    )


def reports_settings(mlflow_store: str, tmp_path: Path, every: int) -> Settings:
    return Settings(
        _env_file=None,
        mlflow_tracking_uri=mlflow_store,
        report_every_windows=every,
        monitoring_experiment="monitoring",
        home=tmp_path,
    )


def drift_reports(mlflow_store: str, into: Path) -> dict[str, Path]:
    """The monitoring run's drift report files, downloaded, by name."""
    mlflow = MlflowClient(tracking_uri=mlflow_store)
    experiment = mlflow.get_experiment_by_name("monitoring")
    assert experiment is not None
    [run] = mlflow.search_runs([experiment.experiment_id])
    folder = Path(mlflow.download_artifacts(run.info.run_id, "drift_reports", str(into)))
    return {path.name: path for path in folder.iterdir()}


def _windows_in(path: Path) -> list[int]:
    return [r["window_id"] for r in json.loads(path.read_text())["windows"]]


def test_each_drift_report_holds_the_windows_since_the_last_and_a_plot_of_all(
    mlflow_store: str, tmp_path: Path
) -> None:
    logger = MonitoringLogger(reports_settings(mlflow_store, tmp_path, 3), StreamMetrics())
    logger.start()
    try:
        for w in range(7):
            assert logger.submit(report(w, drifted=w == 4))
        wait(lambda: logger.logged == 7)
    finally:
        logger.stop()
    files = drift_reports(mlflow_store, tmp_path / "downloaded")
    assert sorted(files) == [
        f"drift_report_{w}.{kind}" for w in (2, 5) for kind in ("html", "json", "png")
    ]
    assert _windows_in(files["drift_report_2.json"]) == [0, 1, 2]
    assert _windows_in(files["drift_report_5.json"]) == [3, 4, 5]  # 6 waits for the next one
    assert files["drift_report_5.png"].read_bytes().startswith(b"\x89PNG")
    # The plot's history keeps a few numbers per window, not the reports.
    [points] = logger._history.values()
    assert [p.window_id for p in points] == list(range(7))
    assert points[4].tests == {"x0": 0.4} and points[4].n_events == 104


def test_a_report_whose_upload_failed_is_not_counted_twice(
    mlflow_store: str, tmp_path: Path
) -> None:
    failures = [1]

    class FlakyArtifacts(MlflowClient):
        def log_artifacts(self, *args: object, **kwargs: object) -> None:
            if failures[0]:
                failures[0] -= 1
                raise ConnectionError("artifact store down")
            super().log_artifacts(*args, **kwargs)  # type: ignore[arg-type]

    settings = reports_settings(mlflow_store, tmp_path, 2)
    logger = MonitoringLogger(
        settings, StreamMetrics(), client_factory=lambda: FlakyArtifacts(mlflow_store)
    )
    logger.start()
    try:
        for w in range(3):  # one window at a time: the upload of window 1's report fails once
            assert logger.submit(report(w))
            wait(lambda w=w: logger.logged == w + 1)
    finally:
        logger.stop()
    assert failures == [0]
    [points] = logger._history.values()
    assert [p.window_id for p in points] == [0, 1, 2]
    files = drift_reports(mlflow_store, tmp_path / "downloaded")
    assert sorted(files) == ["drift_report_2.html", "drift_report_2.json", "drift_report_2.png"]
    assert _windows_in(files["drift_report_2.json"]) == [0, 1, 2]


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, object]] = []
    failures_left = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(503)
        else:
            type(self).bodies.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.bodies, _Receiver.failures_left = [], 2
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_the_webhook_posts_alerts_as_json_and_retries(receiver: str) -> None:
    metrics = StreamMetrics()
    hook = Webhook(receiver, metrics, backoff=0.01)
    hook.start()
    try:
        [alert] = alerts_for(report(7, drifted=True))
        hook.send(alert)
        wait(lambda: hook.delivered == 1)
    finally:
        hook.stop()
    [body] = _Receiver.bodies
    assert (body["kind"], body["window_id"], body["alert_id"]) == (
        "data_drift",
        7,
        "m:3:7:data_drift",
    )


def test_a_webhook_that_never_answers_is_counted_not_fatal() -> None:
    metrics = StreamMetrics()
    hook = Webhook("http://127.0.0.1:9/nowhere", metrics, timeout=0.2, backoff=0.01)
    hook.start()
    try:
        [alert] = alerts_for(report(8, drifted=True))
        hook.send(alert)
        wait(lambda: b"centinela_webhook_failures_total 1.0" in metrics.render())
    finally:
        hook.stop()
    assert hook.delivered == 0
