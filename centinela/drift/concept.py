"""Sequential concept-drift detection on the 0/1 error stream of labeled outcomes.

A thin wrapper over river's detectors, chosen by name (``concept_detector``): ``adwin``
(default, river.drift.ADWIN), ``ddm`` (river.drift.binary.DDM), ``page_hinkley``
(river.drift.PageHinkley) and ``kswin`` (river.drift.KSWIN's algorithm in :class:`KSWindow`,
seeded so runs repeat, with a 1,000-error window: its defaults are too coarse for a 0/1
stream). Only a rise in the error rate is drift by default: a model that got better needs
no retraining. ADWIN and KSWIN are two-sided, so their detections are kept only when the
recent error rate is above the older one; Page-Hinkley runs in mode ``"up"``; DDM only
watches for rises.

Feed the errors of each closed window in the summary's order (by event-id hash, see
:meth:`WindowSummary.errors`), so that detection does not depend on arrival order.

>>> import random
>>> rng = random.Random(7)
>>> errors = [int(rng.random() < 0.1) for _ in range(1000)] + [
...     int(rng.random() < 0.4) for _ in range(1000)]
>>> monitor = ConceptMonitor("adwin")
>>> monitor.update(errors[:1000]), monitor.update(errors[1000:])
(False, True)
>>> monitor.detections
[1087]
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np
from river import drift
from river.drift import binary

from centinela.drift.exceptions import UnknownTestError
from centinela.drift.ks import ks_2samp

log = logging.getLogger(__name__)

DETECTORS: tuple[str, ...] = ("adwin", "ddm", "page_hinkley", "kswin")
# river's KSWIN defaults (100/30) cannot see a change of the error rate below ~0.3 on a 0/1
# stream (the KS statistic of two 30-value binary samples is too coarse); these can.
KSWIN_DEFAULTS: dict[str, Any] = {
    "seed": 42,
    "window_size": 1000,
    "stat_size": 200,
    "alpha": 0.001,
}


class KSWindow:
    """KSWIN (Raab et al., 2020), as river.drift.KSWIN runs it, written out rather than
    subclassed: river's class calls ``scipy.stats.ks_2samp`` on every error, which makes it
    more than twice as slow as this one with our cached KS test (docs/benchmarks.md, "KSWIN:
    river's class against ours"), and overriding its update would reach into its private
    state. The
    same seed draws the same reference samples, so both detect at the same errors (a test
    holds the two together)."""

    def __init__(
        self, *, alpha: float, window_size: int, stat_size: int, seed: int | None = None
    ) -> None:
        if not 0 < stat_size < window_size:
            raise ValueError("stat_size must be positive and smaller than window_size")
        self.alpha = alpha
        self.window_size = window_size
        self.stat_size = stat_size
        self.seed = seed
        self.p_value = 1.0
        self.drift_detected = False
        self._reset()

    def _reset(self) -> None:
        self.window: deque[float] = deque(maxlen=self.window_size)
        self._draws = random.Random(self.seed)

    def update(self, x: float) -> None:
        if self.drift_detected:
            self._reset()
        self.window.append(x)
        self.drift_detected = False
        if len(self.window) < self.window_size:
            return
        window = list(self.window)
        older_positions = self._draws.sample(
            range(self.window_size - self.stat_size), self.stat_size
        )
        older = np.asarray([window[r] for r in older_positions], dtype=float)
        most_recent = window[self.window_size - self.stat_size :]
        result = ks_2samp(older, np.asarray(most_recent, dtype=float), method="auto")
        self.p_value = result.pvalue
        if self.p_value <= self.alpha and result.statistic > 0.1:  # river's rule
            self.drift_detected = True
            self.window = deque(most_recent, maxlen=self.window_size)


def make_detector(name: str, **params: Any) -> Any:
    """A fresh river detector by name, with our defaults (PH upwards, KSWIN seeded)."""
    if name == "adwin":
        return drift.ADWIN(**params)
    if name == "ddm":
        return binary.DDM(**params)
    if name == "page_hinkley":
        return drift.PageHinkley(**{"mode": "up", **params})
    if name == "kswin":
        return KSWindow(**{**KSWIN_DEFAULTS, **params})
    raise UnknownTestError(f"unknown concept detector {name!r}; known: {', '.join(DETECTORS)}")


class ConceptMonitor:
    """One detector over one model version's error stream."""

    def __init__(self, detector: str = "adwin", *, increase_only: bool = True, **params: Any):
        self.name = detector
        self.increase_only = increase_only
        self._detector = make_detector(detector, **params)
        window_size = int(getattr(self._detector, "window_size", 1))
        self._recent: deque[int] = deque(maxlen=window_size)  # KSWIN's window, mirrored
        self.n_seen = 0
        self.detections: list[int] = []  # positions in the error stream, counted from 0

    def update(self, errors: Iterable[int]) -> bool:
        """Feed errors (1 = wrong); True if drift was detected during this call."""
        if self.name == "adwin" and hasattr(self._detector, "_helper"):
            return self._update_adwin(errors)
        return self._update_each(errors)

    def _update_adwin(self, errors: Iterable[int]) -> bool:
        """ADWIN without river's wrappers around its window: the calls ``ADWIN.update`` and
        ``ADWIN.estimation`` make, on the window object itself. The wrappers' properties made
        it ~1 us per error, a tenth of a second for the 100,000 labels of a window at 5,000
        events/s, in the thread beside the scoring loop; this is ~0.45 us."""
        seen = False
        detector = self._detector
        helper = detector._helper
        for error in errors:
            if detector._drift_detected:  # river starts a new window after a detection
                detector._reset()
                helper = detector._helper
            width = helper.get_width()
            before = helper.get_total() / width if width else 0.0
            detector._drift_detected = detected = helper.update(int(error))
            if detected and self._counts(before):
                self.detections.append(self.n_seen)
                seen = True
                log.info("%s detected concept drift at error %d", self.name, self.n_seen)
            self.n_seen += 1
        return seen

    def _update_each(self, errors: Iterable[int]) -> bool:
        seen = False
        detector = self._detector
        for error in errors:
            value = int(error)
            before = detector.estimation if self.name == "adwin" else 0.0
            detector.update(value)
            if self.name == "kswin":
                self._recent.append(value)
            if detector.drift_detected and self._counts(before):
                self.detections.append(self.n_seen)
                seen = True
                log.info("%s detected concept drift at error %d", self.name, self.n_seen)
            self.n_seen += 1
        return seen

    @property
    def drift_detected(self) -> bool:
        """Whether the last error fed was a detection that counts."""
        return bool(self.detections) and self.detections[-1] == self.n_seen - 1

    def _counts(self, before: float) -> bool:
        if not self.increase_only:
            return True
        if self.name == "adwin":
            return bool(self._detector.estimation > before)
        if self.name == "kswin":
            stat_size = self._detector.stat_size
            recent = list(self._recent)
            older, newest = recent[:-stat_size], recent[-stat_size:]
            if not older:
                return True
            return sum(newest) / len(newest) > sum(older) / len(older)
        return True
