"""The always-valid comparison of challenger and champion in the stream, window after window
(docs/architecture.md, "Shadow scoring").

Each report of a window in which the challenger scored labeled events carries their paired
0/1 losses as three counts (``challenger_paired_counts``). The book adds them to one
:class:`~centinela.models.live_comparison.LiveComparison` per champion and challenger pair and
writes the running comparison into the report (``challenger_live``: the counts, the accuracy
difference, its confidence sequence and the verdict). That test stays valid however often it
is looked at, so the verdict may be read after every window.

Its whole state is the three counts, and every report carries the running ones: whoever owns
the merger next resumes from the last report on the drift topic
(:meth:`stream.reporting.WindowReporter.restore`), as the retrain policy does. Windows are
reported in order; a window reported again after a restart (``through_window`` not past it)
is not counted twice.
"""

from __future__ import annotations

from centinela.contract.records import DriftReport
from centinela.models.live_comparison import LiveComparison

THROUGH = "through_window"  # the last window counted, in challenger_live
COUNTS = ("challenger_only_right", "champion_only_right", "both_same")


class ChallengerEvidence:
    """The running comparison of each (champion, challenger) pair the reports have shown."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self._comparisons: dict[tuple[str, str], tuple[LiveComparison, int]] = {}

    def observe(self, report: DriftReport) -> DriftReport:
        """``report`` with the running comparison, its window's counts added."""
        counts = report.challenger_paired_counts
        if report.challenger_version is None or not counts:
            return report
        key = (report.model_version, report.challenger_version)
        comparison, through = self._comparisons.get(key, (LiveComparison(self.alpha), -1))
        if report.window_id > through:
            comparison.merge(LiveComparison(self.alpha, **{k: counts[k] for k in COUNTS}))
            through = report.window_id
            self._comparisons[key] = (comparison, through)
        return report.model_copy(update={"challenger_live": _running(comparison, through)})

    def restore(self, report: DriftReport) -> None:
        """Resume from a published report's running comparison (the last one read wins)."""
        live = report.challenger_live
        if report.challenger_version is None or not live:
            return
        counts = {name: int(live[name] or 0) for name in COUNTS}
        comparison = LiveComparison(self.alpha, **counts)
        key = (report.model_version, report.challenger_version)
        self._comparisons[key] = (comparison, int(live.get(THROUGH) or report.window_id))

    def running(self, champion: str, challenger: str) -> LiveComparison | None:
        found = self._comparisons.get((champion, challenger))
        return None if found is None else found[0]


def _running(comparison: LiveComparison, through: int) -> Live:
    return {**comparison.to_dict(), THROUGH: through}


VERDICT_SIGN = {"better": 1.0, "worse": -1.0, "not yet known": 0.0}
Live = dict[str, float | int | str | None]


def live_number(live: Live, name: str) -> float | None:
    """A number of the running comparison (None where it has none, as before any event).

    >>> live_number({"difference": -0.25, "verdict": "worse"}, "difference")
    -0.25
    """
    value = live.get(name)
    return None if value is None or isinstance(value, str) else float(value)


def verdict_sign(live: Live) -> float | None:
    """The verdict as a number for metrics: 1 better, -1 worse, 0 not yet known.

    >>> verdict_sign({"verdict": "worse"}), verdict_sign({})
    (-1.0, None)
    """
    verdict = live.get("verdict")
    return None if verdict is None else VERDICT_SIGN[str(verdict)]
