"""A challenger's realised performance in a window, beside the champion's on the same events
(docs/architecture.md, "Shadow scoring").

While a challenger scores in the shadow, the window summary keeps, for each labeled event it
scored, its class, the champion's and the label (:meth:`WindowSummary.challenger_outcomes`).
Both models are measured on exactly those events (the paired numbers), so the comparison does
not mix in events the challenger never saw. Realised metrics only: accuracy and f1, as
:func:`~centinela.drift.performance.performance` computes them for the champion. The
challenger's probabilities are not kept, so neither its log loss and ROC AUC nor its estimate
before labels are reported (see the architecture page for why).

A window sees one challenger, except when the alias moves during it: then the version with the
most labeled events is reported (the newest on a tie).

>>> import numpy as np
>>> from centinela.drift.summary_tables import Table
>>> ids = np.arange(4, dtype=np.uint64)
>>> table = Table(ids, (np.array([1, 1, 0, 0]), np.array([1, 0, 0, 1]), np.array([1, 1, 0, 0])))
>>> result = compare({"2": table}, n_classes=2)
>>> result.version, result.labeled, result.performance["accuracy"]
('2', 4, 1.0)
>>> result.paired_champion["accuracy"]
0.5
>>> compare({}, n_classes=2) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from centinela.drift.performance import performance
from centinela.drift.summary_tables import Table

METRICS = ("accuracy", "f1")


@dataclass(frozen=True)
class ChallengerComparison:
    """The challenger's metrics on its ``labeled`` events of the window, and the champion's on
    the same events."""

    version: str
    labeled: int
    performance: dict[str, float]
    paired_champion: dict[str, float]
    paired_counts: dict[str, int]  # the events as paired 0/1 losses (see paired_counts)


def compare(outcomes: Mapping[str, Table], *, n_classes: int) -> ChallengerComparison | None:
    """The comparison of the window's challenger (see the module), or None without labeled
    events scored by one."""
    counted = {version: table for version, table in outcomes.items() if len(table)}
    if not counted:
        return None
    version = max(counted, key=lambda v: (len(counted[v]), len(v), v))
    table = counted[version]
    challenger, champion, labels = (column.astype(np.int64) for column in table.columns)
    return ChallengerComparison(
        version=version,
        labeled=len(table),
        performance=_metrics(labels, challenger, n_classes),
        paired_champion=_metrics(labels, champion, n_classes),
        paired_counts=paired_counts(labels, challenger, champion),
    )


def paired_counts(
    labels: np.ndarray, challenger: np.ndarray, champion: np.ndarray
) -> dict[str, int]:
    """How many events only the challenger got right, only the champion, or both or neither:
    what the always-valid comparison (:mod:`centinela.models.live_comparison`) reads.

    >>> paired_counts(np.array([1, 1, 0, 0]), np.array([1, 1, 0, 1]), np.array([1, 0, 1, 1]))
    {'challenger_only_right': 2, 'champion_only_right': 0, 'both_same': 2}
    """
    challenger_right, champion_right = challenger == labels, champion == labels
    only_challenger = int(np.count_nonzero(challenger_right & ~champion_right))
    only_champion = int(np.count_nonzero(champion_right & ~challenger_right))
    return {
        "challenger_only_right": only_challenger,
        "champion_only_right": only_champion,
        "both_same": len(labels) - only_challenger - only_champion,
    }


def _metrics(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> dict[str, float]:
    """Accuracy and f1; accuracy alone when some class is not the champion's (-1: always
    wrong, and outside the confusion matrix f1 is computed on)."""
    if np.any(predicted < 0):
        return {"accuracy": float(np.mean(labels == predicted))}
    found = performance(labels, predicted, None, n_classes=n_classes)
    return {name: found[name] for name in METRICS if name in found}
