"""MLflow logging of closed windows, off the event loop (docs/architecture.md, "The flow").

One monitoring run per champion version in ``settings.monitoring_experiment``; each window's
statistics become metrics (step = window index, timestamp = window end), sent with
``MlflowClient.log_batch`` from one background thread. The thread reads a bounded queue: while
MLflow is down it retries the batch in hand and stops taking more, so the queue fills and
what overflows is counted (``centinela_mlflow_queue_overflow_total``), never blocking scoring.
Every ``report_every_windows`` windows of a version, a JSON report of the windows since the
previous one, a PNG plot of the statistics of the last :data:`HISTORY` windows and a
self-contained HTML page of both with the alerts and retrain requests of those windows
(:mod:`stream.html_report`) are logged as artifacts. The plot's history is a few numbers
per window (:class:`~stream.plots.WindowPoint`); DriftReports are kept only until their report
is written.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from pathlib import Path

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from centinela.contract.records import Alert, DriftReport, RetrainRequest
from centinela.contract.settings import Settings
from centinela.models.registry import configure_mlflow, ensure_experiment
from stream.challenger_evidence import live_number, verdict_sign
from stream.html_report import ReportedWindow, render_html
from stream.plots import PlotError, WindowPoint, plot_windows_apart
from stream.prometheus import StreamMetrics

log = logging.getLogger(__name__)

ROLE_TAG = "centinela.role"
VERSION_TAG = "centinela.model_version"
MODEL_TAG = "centinela.model_name"
MAX_METRICS_PER_CALL = 1000
HISTORY = 500


def metric_key(text: str) -> str:
    """MLflow accepts letters, digits and ``_-. /`` in metric names."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", text)


def report_metrics(report: DriftReport) -> dict[str, float]:
    """The statistics of one window as flat metric names."""
    values: dict[str, float] = {
        "n_events": report.n_events,
        "n_labeled": report.n_labeled,
        "data_drift": float(report.data_drift),
        "concept_drift": float(report.concept_drift),
        "n_drifted_features": len(report.drifted_features),
    }
    if report.label_coverage is not None:
        values["label_coverage"] = report.label_coverage
    if report.label_delay_seconds is not None:
        values["label_delay_seconds"] = report.label_delay_seconds
    for name, value in report.performance.items():
        values[f"performance.{name}"] = value
    # Performance before labels and the estimator's error (docs/architecture.md): flat names,
    # estimated_accuracy, estimated_f1, ..., estimation_error_accuracy, ...
    for name, value in report.estimated_performance.items():
        values[f"estimated_{name}"] = value
    for name, value in report.estimation_error.items():
        values[f"estimation_error_{name}"] = value
    # The challenger in the shadow (none without one): challenger_labeled, challenger_accuracy,
    # challenger_f1, and the champion's on the same events, challenger_paired_champion_accuracy.
    # The version is the report's challenger_version (a metric value is a number).
    if report.challenger_version is not None:
        values["challenger_labeled"] = report.challenger_labeled
        for name, value in report.challenger_performance.items():
            values[f"challenger_{name}"] = value
        for name, value in report.challenger_paired_champion.items():
            values[f"challenger_paired_champion_{name}"] = value
        live = report.challenger_live
        for name in ("events", "difference", "interval_low", "interval_high"):
            number = live_number(live, name)
            if number is not None:
                values[f"challenger_live_{name}"] = number
        sign = verdict_sign(live)
        if sign is not None:  # 1 better, -1 worse, 0 not yet known
            values["challenger_live_verdict"] = sign
    tests = list(report.features) + ([report.prediction] if report.prediction else [])
    tests += [report.multivariate] if report.multivariate else []
    for test in tests:
        prefix = f"feature.{test.feature}" if test.kind in ("numeric", "categorical") else test.kind
        values[f"{prefix}.statistic"] = test.statistic
        values[f"{prefix}.drifted"] = float(test.drifted)
        for field in ("p_value", "psi", "distance"):
            value = getattr(test, field)
            if value is not None:
                values[f"{prefix}.{field}"] = value
        if test.kind == "categorical":
            values[f"{prefix}.unseen_categories"] = test.unseen_categories
    return {metric_key(k): float(v) for k, v in values.items()}


class MonitoringLogger:
    """A bounded queue of DriftReports and the thread that writes them to MLflow."""

    def __init__(
        self,
        settings: Settings,
        metrics: StreamMetrics,
        *,
        client_factory: Callable[[], MlflowClient] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._queue: queue.Queue[ReportedWindow] = queue.Queue(maxsize=settings.metrics_queue_size)
        self._client_factory = client_factory or self._default_client
        self._runs: dict[str, str] = {}
        self._history: dict[str, deque[WindowPoint]] = defaultdict(lambda: deque(maxlen=HISTORY))
        self._unreported: dict[str, list[ReportedWindow]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlflow-monitoring", daemon=True)
        self.logged = 0
        self.overflow = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Flush what MLflow accepts within ``timeout``, then stop."""
        deadline = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.1)
        self._stop.set()
        self._thread.join(timeout=max(deadline - time.monotonic(), 1.0))

    def submit(
        self,
        report: DriftReport,
        alerts: Sequence[Alert] = (),
        request: RetrainRequest | None = None,
    ) -> bool:
        """Queue a window (with what it raised, for the HTML report) for MLflow; False (and
        counted) if the queue is full."""
        try:
            self._queue.put_nowait(ReportedWindow(report, tuple(alerts), request))
        except queue.Full:
            self.overflow += 1
            self.metrics.mlflow_overflow.inc()
            return False
        self.metrics.mlflow_queue_depth.set(self._queue.qsize())
        return True

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    # --- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 1.0
        batch: list[ReportedWindow] = []
        while not self._stop.is_set():
            if not batch:
                batch = self._take(timeout=0.5)
                if not batch:
                    continue
            try:
                self._write(batch)
            except Exception as error:  # MLflow down or slow: keep the batch, retry later
                self.metrics.mlflow_errors.inc()
                log.warning("MLflow logging failed (retrying in %.0fs): %s", backoff, error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            self.logged += len(batch)
            batch = []
            self.metrics.mlflow_queue_depth.set(self._queue.qsize())

    def _take(self, timeout: float) -> list[ReportedWindow]:
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < 50:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[ReportedWindow]) -> None:
        client = self._client_factory()
        for report in (window.report for window in batch):
            run_id = self._run_id(client, report)
            stamp = int(report.window_end.timestamp() * 1000)
            rows = [
                Metric(key, value, stamp, report.window_id)
                for key, value in report_metrics(report).items()
            ]
            for start in range(0, len(rows), MAX_METRICS_PER_CALL):
                client.log_batch(run_id, metrics=rows[start : start + MAX_METRICS_PER_CALL])
        # Artifacts only after every metric of the batch is in, so a retry never repeats them.
        for window in batch:
            report = window.report
            version = report.model_version
            history = self._history[version]
            if history and history[-1].window_id >= report.window_id:
                continue  # a batch retried after a failed upload: already counted
            history.append(WindowPoint.of(report))
            unreported = self._unreported[version]
            unreported.append(window)
            if len(unreported) >= self.settings.report_every_windows:
                self._log_report(client, self._runs[version], unreported)
                self._unreported[version] = []

    def _run_id(self, client: MlflowClient, report: DriftReport) -> str:
        version = report.model_version
        found = self._runs.get(version)
        if found is not None:
            return found
        experiment_id = ensure_experiment(self.settings, self.settings.monitoring_experiment)
        runs = client.search_runs(
            [experiment_id],
            filter_string=(
                f"tags.`{VERSION_TAG}` = '{version}' and tags.`{MODEL_TAG}` = "
                f"'{report.model_name}' and tags.`{ROLE_TAG}` = 'monitoring'"
            ),
            max_results=1,
        )
        if runs:
            run_id = runs[0].info.run_id
        else:
            run = client.create_run(
                experiment_id,
                run_name=f"monitor-{report.model_name}-v{version}",
                tags={ROLE_TAG: "monitoring", VERSION_TAG: version, MODEL_TAG: report.model_name},
            )
            run_id = run.info.run_id
            log.info("MLflow monitoring run %s for version %s", run_id, version)
        self._runs[version] = run_id
        return run_id

    def _log_report(self, client: MlflowClient, run_id: str, windows: list[ReportedWindow]) -> None:
        last = windows[-1].report
        with tempfile.TemporaryDirectory() as folder:
            base = Path(folder) / f"drift_report_{last.window_id}"
            document = {
                "model_name": last.model_name,
                "model_version": last.model_version,
                "windows": [w.report.model_dump(mode="json") for w in windows],
            }
            base.with_suffix(".json").write_text(json.dumps(document, indent=1))
            title = f"{last.model_name} v{last.model_version}"
            history = list(self._history[last.model_version])
            page = render_html(windows, plot_png=self._plot(history, base, title), title=title)
            base.with_suffix(".html").write_text(page, encoding="utf-8")
            client.log_artifacts(run_id, folder, artifact_path="drift_reports")

    @staticmethod
    def _plot(history: list[WindowPoint], base: Path, title: str) -> bytes:
        """The PNG, logged beside the report; without it (a warning) if it cannot be drawn:
        a plot that fails once fails on every retry, and would hold up the metrics behind it."""
        try:
            return plot_windows_apart(history, base.with_suffix(".png"), title).read_bytes()
        except PlotError as error:
            log.warning("drift report %s without its plot: %s", base.name, error)
            return b""

    def _default_client(self) -> MlflowClient:
        configure_mlflow(self.settings)
        return MlflowClient(tracking_uri=self.settings.mlflow_tracking_uri)
