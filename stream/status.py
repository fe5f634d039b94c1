"""What /status shows: the champion, the last windows, the open alerts, the last retrain request.

An alert stays open until a later window of the same model version no longer shows that kind of
drift.

>>> from datetime import datetime, timezone
>>> from centinela.contract.records import DriftReport
>>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> board = StatusBoard()
>>> drifted = DriftReport(model_name="m", model_version="1", window_id=1, window_start=t,
...     window_end=t, n_events=5, n_labeled=0, data_drift=True, drifted_features=("x",))
>>> from stream.alerts import alerts_for
>>> board.record(drifted, alerts_for(drifted), None)
>>> [a["kind"] for a in board.snapshot()["open_alerts"]]
['data_drift']
>>> board.record(drifted.model_copy(update={"window_id": 2, "data_drift": False}), [], None)
>>> board.snapshot()["open_alerts"]
[]
"""

from __future__ import annotations

from collections import deque
from typing import Any

from centinela.contract.records import Alert, DriftReport, RetrainRequest

_FLAG_OF_KIND = {
    "data_drift": lambda r: r.data_drift,
    "prediction_drift": lambda r: bool(r.prediction and r.prediction.drifted),
    "concept_drift": lambda r: r.concept_drift,
    "multivariate_drift": lambda r: bool(r.multivariate and r.multivariate.drifted),
    "estimated_performance_drop": lambda r: r.estimated_drop,
}


class StatusBoard:
    """The worker's recent history, as plain JSON for /status."""

    def __init__(self, keep: int = 20) -> None:
        self._windows: deque[dict[str, Any]] = deque(maxlen=keep)
        self._open: dict[tuple[str, str], Alert] = {}  # (model version, kind) -> alert
        self._request: RetrainRequest | None = None
        self.windows_reported = 0

    def record(
        self, report: DriftReport, alerts: list[Alert], request: RetrainRequest | None
    ) -> None:
        self.windows_reported += 1
        window = {
            "model_version": report.model_version,
            "window_id": report.window_id,
            "window_start": report.window_start.isoformat(),
            "window_end": report.window_end.isoformat(),
            "n_events": report.n_events,
            "n_labeled": report.n_labeled,
            "data_drift": report.data_drift,
            "concept_drift": report.concept_drift,
            "drifted_features": list(report.drifted_features),
            "performance": dict(report.performance),
            "estimated_performance": dict(report.estimated_performance),
            "estimation_error": dict(report.estimation_error),
            "verdicts_withheld": list(report.verdicts_withheld),
        }
        if report.challenger_version is not None:  # nothing extra without a challenger
            window["challenger"] = {
                "version": report.challenger_version,
                "labeled": report.challenger_labeled,
                "performance": dict(report.challenger_performance),
                "paired_champion": dict(report.challenger_paired_champion),
                "live": dict(report.challenger_live),  # since it was first compared
            }
        self._windows.append(window)
        for (version, kind), _ in list(self._open.items()):
            check = _FLAG_OF_KIND.get(kind)
            if version == report.model_version and check is not None and not check(report):
                del self._open[(version, kind)]
        for alert in alerts:
            self._open[(alert.model_version, alert.kind)] = alert
        if request is not None:
            self._request = request

    def snapshot(self) -> dict[str, Any]:
        return {
            "windows": list(self._windows),
            "windows_reported": self.windows_reported,
            "open_alerts": [a.model_dump(mode="json") for a in self._open.values()],
            "last_retrain_request": None
            if self._request is None
            else self._request.model_dump(mode="json"),
        }
