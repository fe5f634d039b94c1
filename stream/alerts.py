"""Alerts from drift reports, and the optional webhook that receives them.

Computing and reporting stay apart: :func:`alerts_for` turns a DriftReport into Alerts (pure);
:class:`Webhook` POSTs them as JSON from a thread, with retries, so a slow receiver never holds
the stream up.

>>> from datetime import datetime, timezone
>>> from centinela.contract.records import DriftReport
>>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> report = DriftReport(model_name="m", model_version="1", window_id=7, window_start=t,
...     window_end=t, n_events=10, n_labeled=0, data_drift=True, drifted_features=("x",))
>>> [(a.kind, a.alert_id) for a in alerts_for(report)]
[('data_drift', 'm:1:7:data_drift')]

Data- and prediction-drift alerts carry the window's performance estimated before labels (in
the message and as ``evidence["estimated_performance"]``), so whoever reads one sees at once
whether the model is expected to suffer from the move:

>>> estimated = report.model_copy(update={"estimated_performance": {"accuracy": 0.874,
...                                                                 "calibrated": 1.0}})
>>> alerts_for(estimated)[0].message
'data drift in 1 feature(s): x; estimated accuracy 0.874 (before labels)'
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time

import requests

from centinela.contract.records import Alert, DriftReport
from stream.prometheus import StreamMetrics

log = logging.getLogger(__name__)

RETRIES = 4


def alerts_for(report: DriftReport) -> list[Alert]:
    """One alert per kind of drift the window shows; ids are stable (model:version:window:kind)."""
    found: list[tuple[str, str, str, dict[str, object]]] = []
    estimate, estimated = _estimate(report)
    if report.data_drift:
        found.append(
            (
                "data_drift",
                "warning",
                f"data drift in {len(report.drifted_features)} feature(s): "
                f"{', '.join(report.drifted_features[:10])}{estimate}",
                {"drifted_features": list(report.drifted_features), **estimated},
            )
        )
    if report.prediction is not None and report.prediction.drifted:
        found.append(
            (
                "prediction_drift",
                "warning",
                f"the distribution of predicted classes moved{estimate}",
                {
                    "statistic": report.prediction.statistic,
                    "p_value": report.prediction.p_value,
                    **estimated,
                },
            )
        )
    if report.multivariate is not None and report.multivariate.drifted:
        found.append(
            (
                "multivariate_drift",
                "warning",
                f"the features' joint distribution moved (PCA reconstruction error){estimate}",
                {
                    "statistic": report.multivariate.statistic,
                    "p_value": report.multivariate.p_value,
                    "drifted_features": list(report.drifted_features),
                    **estimated,
                },
            )
        )
    if report.estimated_drop:
        baseline = report.performance.get("baseline_accuracy")
        found.append(
            (
                "estimated_performance_drop",
                "warning",
                f"the model is expected to lose accuracy{estimate}",
                {"baseline_accuracy": baseline, **estimated},
            )
        )
    if report.concept_drift:
        found.append(
            (
                "concept_drift",
                "critical",
                "the model's errors changed (concept drift)",
                {"performance": dict(report.performance)},
            )
        )
    return [
        Alert(
            alert_id=f"{report.model_name}:{report.model_version}:{report.window_id}:{kind}",
            model_name=report.model_name,
            model_version=report.model_version,
            kind=kind,
            severity=severity,
            message=message,
            window_id=report.window_id,
            evidence={**evidence, "window_start": report.window_start.isoformat()},
        )
        for kind, severity, message, evidence in found
    ]


def _estimate(report: DriftReport) -> tuple[str, dict[str, object]]:
    """The estimated accuracy as a message suffix, and the whole estimate as evidence."""
    estimated = report.estimated_performance
    if "accuracy" not in estimated:
        return "", {}
    how = "before labels" if estimated.get("calibrated") == 1.0 else "uncalibrated, before labels"
    baseline = report.performance.get("baseline_accuracy")
    versus = "" if baseline is None else f", baseline {baseline:.3f}"
    suffix = f"; estimated accuracy {estimated['accuracy']:.3f} ({how}{versus})"
    return suffix, {"estimated_performance": dict(estimated)}


class Webhook:
    """POSTs alerts as JSON to ``url`` from a background thread, retrying with backoff."""

    def __init__(
        self, url: str, metrics: StreamMetrics, *, timeout: float = 5.0, backoff: float = 0.5
    ) -> None:
        self.url = url
        self.metrics = metrics
        self.timeout = timeout
        self.backoff = backoff
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=1000)
        self._thread = threading.Thread(target=self._run, name="alert-webhook", daemon=True)
        self.delivered = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout=5)

    def send(self, alert: Alert) -> None:
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self.metrics.webhook_failures.inc()

    def _run(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            if self._post(alert):
                self.delivered += 1
            else:
                self.metrics.webhook_failures.inc()
                log.warning("webhook never accepted alert %s", alert.alert_id)

    def _post(self, alert: Alert) -> bool:
        body = alert.model_dump_json()
        for attempt in range(RETRIES):
            try:
                response = requests.post(
                    self.url,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=self.timeout,
                )
                if response.status_code < 500:
                    return response.ok
            except requests.RequestException as error:
                log.debug("webhook attempt %d failed: %s", attempt + 1, error)
            time.sleep(self.backoff * 2**attempt)
        return False
