"""From a merged window to what the world sees: DriftReport, Alerts, RetrainRequest.

The statistics are :func:`centinela.drift.calculator.compute_drift`'s; the sequential concept
detector (:class:`~centinela.drift.concept.ConceptMonitor`, one per model version) reads the
window's labeled outcomes in a fixed order (a detection sets ``concept_drift`` and
``performance["sequential_drift"]``), and the :class:`~centinela.drift.policy.RetrainPolicy`
decides whether the evidence asks for a challenger.

The policy's state (drift episode, data-drift streak, cooldown, labeled counts) is a function of
the reports it has read, and every report is on the drift topic: whichever worker owns the
merger rebuilds it by replaying the tail of that topic (:meth:`WindowReporter.restore`), so a
restart or a move between workers neither opens a second episode nor forgets a cooldown. The
sequential detector is rebuilt from the same reports: each window's error count (its realised
accuracy times its labeled outcomes) is fed again, spread evenly over the window's outcomes
(the order inside a window is not in the report; the detector's history of error rates is).
The challenger's running comparison with the champion comes back the same way
(:mod:`stream.challenger_evidence`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from centinela.contract.records import Alert, DriftReport, RetrainRequest
from centinela.contract.settings import Settings
from centinela.drift.calculator import compute_drift
from centinela.drift.concept import ConceptMonitor
from centinela.drift.config import DriftConfig, PolicyConfig
from centinela.drift.policy import RetrainPolicy
from centinela.models.profile import ReferenceProfile
from stream.alerts import alerts_for
from stream.challenger_evidence import ChallengerEvidence
from stream.window_merge import MergedWindow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowResult:
    report: DriftReport
    alerts: list[Alert]
    request: RetrainRequest | None


class WindowReporter:
    """Tests merged windows in order and applies the retrain policy."""

    def __init__(self, settings: Settings, profile_of: Callable[[str], ReferenceProfile]) -> None:
        self.settings = settings
        self.drift_config = DriftConfig.from_settings(settings)
        self.profile_of = profile_of
        self.policy = RetrainPolicy(PolicyConfig.from_settings(settings))
        self.evidence = ChallengerEvidence(settings.live_comparison_alpha)
        self._monitors: dict[str, ConceptMonitor] = {}
        self._episode_start: dict[str, datetime] = {}
        self._impact_start: dict[str, datetime] = {}

    def restore(self, published: Sequence[DriftReport]) -> int:
        """Replay reports already published (oldest first) into the policy, as if this reporter
        had written them; a report sent twice counts once, at its last place. Returns how many
        windows were replayed. Requests they would raise were raised already, and are dropped."""
        latest: dict[tuple[str, int], DriftReport] = {}
        for report in published:
            key = (report.model_version, report.window_id)
            latest.pop(key, None)
            latest[key] = report
        self.policy.replaying = True
        for report in latest.values():
            self.policy.observe(report, labeled_from=self._labeled_from(report))
            self.evidence.restore(report)
            errors = replayed_errors(report)
            if errors:
                self._monitor(report.model_version).update(errors)
        self.policy.replaying = False
        return len(latest)

    def report(self, window: MergedWindow) -> WindowResult:
        profile = self.profile_of(window.version)
        report = compute_drift(window.summary, profile, self.drift_config, model_name=window.model)
        if self._sequential_drift(window.version, window.summary):
            performance = {**report.performance, "sequential_drift": 1.0}
            report = report.model_copy(update={"concept_drift": True, "performance": performance})
        report = self.evidence.observe(report)
        labeled_from = self._labeled_from(report)
        request = self.policy.observe(report, labeled_from=labeled_from)
        if not window.complete:
            log.warning(
                "window %s of version %s released after the grace period with partitions %s",
                window.window_id,
                window.version,
                list(window.partitions),
            )
        return WindowResult(report, alerts_for(report), request)

    def _sequential_drift(self, version: str, summary: Any) -> bool:
        errors = outcome_errors(summary)
        if not errors:
            return False
        return bool(self._monitor(version).update(errors))

    def _monitor(self, version: str) -> ConceptMonitor:
        monitor = self._monitors.get(version)
        if monitor is None:
            detector = self.settings.concept_detector
            params = self.drift_config.detector_params(detector)
            monitor = self._monitors[version] = ConceptMonitor(detector, **params)
        return monitor

    def _labeled_from(self, report: DriftReport) -> datetime:
        """Where a request's training data starts: the first window of the current run of
        windows with a realised performance problem when there is one (a challenger must learn
        the new concept, not the inputs' shift that may have started long before), else the
        first window of the current drift episode (a window without a verdict neither starts
        nor ends either, as for the policy)."""
        version = report.model_version
        realised = report.performance.get("performance_drop") == 1.0
        impact = report.concept_drift or realised or report.estimated_drop
        if impact:
            self._impact_start.setdefault(version, report.window_start)
        elif "performance" not in report.verdicts_withheld:
            self._impact_start.pop(version, None)
        if report.data_drift or report.concept_drift:
            episode = self._episode_start.setdefault(version, report.window_start)
        elif "data" in report.verdicts_withheld:
            episode = self._episode_start.get(version, report.window_start)
        else:
            self._episode_start.pop(version, None)
            episode = report.window_start
        return self._impact_start.get(version, episode)


def replayed_errors(report: DriftReport) -> list[int]:
    """A window's errors as its report keeps them: how many of its labeled outcomes were wrong,
    spread evenly (1 at each position where the running share of errors steps up).

    >>> replayed_errors(DriftReport.model_construct(n_labeled=5, performance={"accuracy": 0.6}))
    [0, 0, 1, 0, 1]
    """
    accuracy = report.performance.get("accuracy")
    n = report.n_labeled
    if accuracy is None or n <= 0:
        return []
    wrong = round((1.0 - accuracy) * n)
    return [int((i + 1) * wrong // n > i * wrong // n) for i in range(n)]


def outcome_errors(summary: Any) -> list[int]:
    """The window's 0/1 errors in a fixed order (the summary keeps them sorted by event id)."""
    errors = getattr(summary, "errors", None)
    if errors is None:
        return []
    values = errors() if callable(errors) else errors
    return np.asarray(values, dtype=np.int64).tolist()  # one call: 100,000 labels in ~1 ms
