"""When to ask for a challenger: the retrain policy (docs/architecture.md, "Drift methodology").

The policy reads the DriftReports of one model, window after window, and fires (with the
thresholds of its :class:`~centinela.drift.config.PolicyConfig`) on

- concept drift (``report.concept_drift``: the sequential detector or the window's test),
- a significant performance drop (``report.performance["performance_drop"]``), or
- data drift in at least ``min_drifted_features`` features in each of
  ``consecutive_windows`` consecutive windows,

once per drift episode: an episode is a run of consecutive windows that each show some drift,
and its ``request_id`` is derived from (model, version, first window of the episode), so the
same evidence always names the same request (the retrain worker dedupes on it). A request also
needs ``min_labeled`` labeled examples since ``labeled_from`` and waits out the cooldown,
``cooldown_seconds`` measured on window end times (event time, not wall clock, so that a
replay decides the same); a trigger held back by either fires later in the same episode, once
the condition clears. A new model version starts afresh, except for the cooldown.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from centinela.contract.records import DriftReport, RetrainRequest
from centinela.drift.config import PolicyConfig

log = logging.getLogger(__name__)

_LABEL_HISTORY = 100_000  # windows remembered for the labeled-example count


@dataclass
class _Episode:
    first_window_id: int
    window_ids: list[int] = field(default_factory=list)
    fired: bool = False


class RetrainPolicy:
    """Stateful, deterministic decision over one model's window reports."""

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self._version: str | None = None
        self._last_window_id: int | None = None
        self._streak: list[int] = []
        self._episode: _Episode | None = None
        self._labeled: deque[tuple[datetime, int]] = deque(maxlen=_LABEL_HISTORY)
        self._last_fired_end: datetime | None = None

    def observe(self, report: DriftReport, *, labeled_from: datetime) -> RetrainRequest | None:
        """Take the next window's report; return a request when the policy fires."""
        if report.model_version != self._version:
            self._start_version(report.model_version)
        elif self._last_window_id is not None and report.window_id <= self._last_window_id:
            log.info("window %d seen already; the policy ignores it", report.window_id)
            return None
        consecutive = self._last_window_id == report.window_id - 1
        self._last_window_id = report.window_id
        self._labeled.append((report.window_start, report.n_labeled))
        self._track_streak(report, consecutive)
        if not self._track_episode(report, consecutive):
            return None
        reason = self._reason(report)
        episode = self._episode
        if reason is None or episode is None or episode.fired:
            return None
        if self._cooling_down(report):
            log.info("retrain trigger %s held back by the cooldown", reason)
            return None
        labeled = self._labeled_since(labeled_from)
        if labeled < self.config.min_labeled:
            log.info(
                "retrain trigger %s waits for labels: %d of %d",
                reason,
                labeled,
                self.config.min_labeled,
            )
            return None
        episode.fired = True
        self._last_fired_end = report.window_end
        return self._request(report, reason, labeled_from, labeled)

    def _start_version(self, version: str) -> None:
        self._version = version
        self._last_window_id = None
        self._streak = []
        self._episode = None
        self._labeled.clear()

    def _track_streak(self, report: DriftReport, consecutive: bool) -> None:
        heavy = len(report.drifted_features) >= self.config.min_drifted_features
        if not heavy:
            self._streak = []
        elif consecutive and self._streak:
            self._streak.append(report.window_id)
        else:
            self._streak = [report.window_id]

    def _track_episode(self, report: DriftReport, consecutive: bool) -> bool:
        """Extend or start the episode; False (and no episode) when the window shows no drift."""
        if not (report.data_drift or report.concept_drift or _performance_drop(report)):
            self._episode = None
            return False
        if self._episode is None or not consecutive:
            self._episode = _Episode(first_window_id=report.window_id)
        self._episode.window_ids.append(report.window_id)
        return True

    def _reason(self, report: DriftReport) -> str | None:
        if _performance_drop(report):
            return "performance_drop"
        if report.concept_drift:
            return "concept_drift"
        if len(self._streak) >= self.config.consecutive_windows:
            return "data_drift"
        return None

    def _cooling_down(self, report: DriftReport) -> bool:
        if self._last_fired_end is None:
            return False
        cooldown = timedelta(seconds=self.config.cooldown_seconds)
        return report.window_end < self._last_fired_end + cooldown

    def _labeled_since(self, labeled_from: datetime) -> int:
        return sum(n for start, n in self._labeled if start >= labeled_from)

    def _request(
        self, report: DriftReport, reason: str, labeled_from: datetime, labeled: int
    ) -> RetrainRequest:
        episode = self._episode
        assert episode is not None
        request_id = f"{report.model_name}-v{report.model_version}-w{episode.first_window_id}"
        log.warning("retrain policy fires: %s (%s)", request_id, reason)
        return RetrainRequest(
            request_id=request_id,
            model_name=report.model_name,
            champion_version=report.model_version,
            reason=reason,
            evidence=self._evidence(report, reason, labeled),
            train_from=labeled_from,
            train_until=report.window_end,
        )

    def _evidence(self, report: DriftReport, reason: str, labeled: int) -> dict[str, Any]:
        episode = self._episode
        assert episode is not None
        return {
            "trigger": reason,
            "trigger_window_id": report.window_id,
            "episode_window_ids": list(episode.window_ids),
            "data_drift_window_ids": list(self._streak),
            "drifted_features": {
                d.feature: {
                    "test": d.test,
                    "statistic": d.statistic,
                    "p_value": d.p_value,
                    "psi": d.psi,
                    "distance": d.distance,
                }
                for d in report.features
                if d.drifted
            },
            "prediction_drift": bool(report.prediction and report.prediction.drifted),
            "performance": dict(report.performance),
            "concept_drift": report.concept_drift,
            "detector": self.config.concept_detector,
            "correction": report.correction,
            "alpha": report.alpha,
            "labeled_examples": labeled,
            "window_start": report.window_start.isoformat(),
            "window_end": report.window_end.isoformat(),
        }


def _performance_drop(report: DriftReport) -> bool:
    return report.performance.get("performance_drop", 0.0) == 1.0
