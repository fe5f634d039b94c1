"""When to ask for a challenger: the retrain policy (docs/architecture.md, "Drift methodology").

The policy reads the DriftReports of one model, window after window. A retrain request needs
evidence that the model's performance suffered; drift in the inputs alone raises alerts (the
stream's, not the policy's) but asks for no challenger. The triggers, from weakest to strongest:

1. ``data_drift``: data drift in at least ``min_drifted_features`` features in each of
   ``consecutive_windows`` consecutive windows; a trigger only with ``retrain_on_data_drift``
   (off by default);
2. ``estimated_drop``: the window's accuracy estimated before labels fell more than the
   tolerance below the baseline (``report.estimated_drop``): impact seen before the labels;
3. ``performance_drop``: the window's error-rate test against the baseline
   (``report.performance["performance_drop"]``);
4. ``concept_drift``: the sequential detector on the error stream
   (``report.performance["sequential_drift"]``, or ``report.concept_drift`` without a
   performance drop).

A window's trigger is the strongest it shows. The policy fires once per drift episode (a run
of consecutive windows that each show some drift); a later window of the same episode asks
again only when the episode's request was on data drift and the window shows a performance
problem (a performance drop or concept drift). Within an episode, the sequential
detector firing after the window's test is the same change in the error rate, confirmed: it
asks for nothing more. A request also needs ``min_labeled`` labeled examples since
``labeled_from`` and waits out the cooldown, ``cooldown_seconds`` after the last request,
measured on window end times (event time, not wall clock, so that a replay decides the same),
unless its trigger is stronger than the one that started the cooldown: such a request fires at
once, names the request it supersedes in ``evidence["supersedes"]``, and starts a new cooldown;
equal or weaker triggers wait. A trigger held back fires later in the same episode, once the
condition clears.

The ``request_id`` is derived from the evidence, so the same windows always name the same
request (the retrain worker dedupes on it): ``<model>-v<version>-w<first window of the
episode>``, and for a stronger trigger later in the same episode ``...-<trigger>``. Windows
whose data-drift verdict was withheld (too few events) neither extend nor end an episode or a
data-drift streak. A new model version starts afresh, except for the cooldown.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from centinela.contract.records import DriftReport, RetrainRequest
from centinela.drift.config import PolicyConfig

log = logging.getLogger(__name__)

_LABEL_HISTORY = 100_000  # windows remembered for the labeled-example count

Trigger = Literal["data_drift", "estimated_drop", "performance_drop", "concept_drift"]
TRIGGERS: tuple[Trigger, ...] = (  # weakest first
    "data_drift",
    "estimated_drop",
    "performance_drop",
    "concept_drift",
)
_RANK = {trigger: rank for rank, trigger in enumerate(TRIGGERS)}


@dataclass
class _Episode:
    first_window_id: int
    window_ids: list[int] = field(default_factory=list)
    fired: Trigger | None = None  # the strongest trigger requested in this episode


@dataclass(frozen=True)
class _Fired:
    """The last request: what started the cooldown."""

    request_id: str
    trigger: Trigger
    window_end: datetime


class RetrainPolicy:
    """Stateful, deterministic decision over one model's window reports."""

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self._version: str | None = None
        self._last_window_id: int | None = None
        self._streak: list[int] = []
        self._episode: _Episode | None = None
        self._labeled: deque[tuple[datetime, int]] = deque(maxlen=_LABEL_HISTORY)
        self._last_fired: _Fired | None = None
        self.replaying = False  # set while a new owner replays published reports

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
        if _no_verdict(report):
            log.info("window %d has no data-drift verdict; the policy skips it", report.window_id)
            return None
        self._track_streak(report, consecutive)
        if not self._track_episode(report, consecutive):
            return None
        reason = self._reason(report)
        episode = self._episode
        if reason is None or episode is None:
            return None
        if episode.fired is not None and not _escalates(episode.fired, reason, same_episode=True):
            return None
        supersedes = None
        last = self._last_fired
        if last is not None and self._cooling_down(report, last):
            if not _escalates(last.trigger, reason, same_episode=False):
                log.log(
                    logging.DEBUG if self.replaying else logging.INFO,  # said when it happened
                    "retrain trigger %s held back by the cooldown of %s (%s)",
                    reason,
                    last.request_id,
                    last.trigger,
                )
                return None
            supersedes = last.request_id
        labeled = self._labeled_since(labeled_from)
        if labeled < self.config.min_labeled:
            log.info(
                "retrain trigger %s waits for labels: %d of %d",
                reason,
                labeled,
                self.config.min_labeled,
            )
            return None
        request = self._request(report, reason, labeled_from, labeled, supersedes)
        episode.fired = reason
        self._last_fired = _Fired(request.request_id, reason, report.window_end)
        return request

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
        shows = report.data_drift or report.concept_drift or report.estimated_drop
        if not (shows or _performance_drop(report)):
            self._episode = None
            return False
        if self._episode is None or not consecutive:
            self._episode = _Episode(first_window_id=report.window_id)
        self._episode.window_ids.append(report.window_id)
        return True

    def _reason(self, report: DriftReport) -> Trigger | None:
        """The strongest trigger the window shows."""
        if _sequential_drift(report):
            return "concept_drift"
        if _performance_drop(report):
            return "performance_drop"
        if report.estimated_drop:
            return "estimated_drop"
        if (
            self.config.retrain_on_data_drift
            and len(self._streak) >= self.config.consecutive_windows
        ):
            return "data_drift"
        return None

    def _cooling_down(self, report: DriftReport, last: _Fired) -> bool:
        cooldown = timedelta(seconds=self.config.cooldown_seconds)
        return report.window_end < last.window_end + cooldown

    def _labeled_since(self, labeled_from: datetime) -> int:
        return sum(n for start, n in self._labeled if start >= labeled_from)

    def _request(
        self,
        report: DriftReport,
        reason: Trigger,
        labeled_from: datetime,
        labeled: int,
        supersedes: str | None,
    ) -> RetrainRequest:
        episode = self._episode
        assert episode is not None
        request_id = f"{report.model_name}-v{report.model_version}-w{episode.first_window_id}"
        if episode.fired is not None:  # a stronger trigger later in the same episode
            request_id += f"-{reason}"
        evidence = self._evidence(report, reason, labeled)
        # Replaying published reports re-decides requests made long ago: not news.
        level = logging.DEBUG if self.replaying else logging.WARNING
        if supersedes is not None:
            evidence["supersedes"] = supersedes
            log.log(
                level,
                "retrain policy fires: %s (%s), superseding %s",
                request_id,
                reason,
                supersedes,
            )
        else:
            log.log(level, "retrain policy fires: %s (%s)", request_id, reason)
        return RetrainRequest(
            request_id=request_id,
            model_name=report.model_name,
            champion_version=report.model_version,
            reason=reason,
            evidence=evidence,
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
            "sequential_drift": _sequential_drift(report),
            "detector": self.config.concept_detector,
            "correction": report.correction,
            "alpha": report.alpha,
            "labeled_examples": labeled,
            "window_start": report.window_start.isoformat(),
            "window_end": report.window_end.isoformat(),
        }


def _escalates(previous: Trigger, trigger: Trigger, *, same_episode: bool) -> bool:
    """Whether ``trigger`` may ask again after a request on ``previous``: only a stronger one,
    and within one episode only on top of data drift (the sequential detector firing after the
    window's test is the same change in the error rate, confirmed, not a new one)."""
    if _RANK[trigger] <= _RANK[previous]:
        return False
    return not same_episode or previous == "data_drift"


def _performance_drop(report: DriftReport) -> bool:
    return report.performance.get("performance_drop", 0.0) == 1.0


def _sequential_drift(report: DriftReport) -> bool:
    """The sequential detector fired in this window (the stream records it in the performance
    metrics; a concept-drift flag that the window's own test does not explain counts too)."""
    if report.performance.get("sequential_drift", 0.0) == 1.0:
        return True
    return report.concept_drift and not _performance_drop(report)


def _no_verdict(report: DriftReport) -> bool:
    """Too few events for a data-drift verdict and no concept evidence: a neutral window."""
    return (
        "data" in report.verdicts_withheld
        and not report.concept_drift
        and not _performance_drop(report)
    )
