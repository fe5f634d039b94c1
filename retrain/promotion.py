"""Automatic promotion: off unless ``CENTINELA_AUTO_PROMOTE=true``.

A challenger is promoted without a person only when its hold-out is large enough
(``auto_promote_min_holdout``) and it beats the champion on the decision metric by at least
``auto_promote_min_improvement``.

>>> from centinela.contract.settings import Settings
>>> better = Comparison({"f1": 0.90}, {"f1": 0.80}, n_holdout=5000)
>>> auto_promotion(better, Settings(_env_file=None)) is None   # off by default
True
>>> auto_promotion(better, Settings(_env_file=None, auto_promote=True))
'auto-promotion: f1 +0.1000 over the champion on 5000 hold-out rows (minimum +0.0100)'
"""

from __future__ import annotations

import logging

from centinela.contract.settings import Settings
from retrain.evaluation import DECISION_METRIC, Comparison

log = logging.getLogger(__name__)

AUTO_ACTOR = "centinela-auto-promote"


def auto_promotion(comparison: Comparison, settings: Settings) -> str | None:
    """The reason to promote automatically, or None to leave it to a person."""
    if not settings.auto_promote:
        return None
    if comparison.n_holdout < settings.auto_promote_min_holdout:
        log.info(
            "not auto-promoting: hold-out of %d rows is under the minimum of %d",
            comparison.n_holdout,
            settings.auto_promote_min_holdout,
        )
        return None
    if DECISION_METRIC not in comparison.deltas():
        return None
    gain = comparison.improvement(DECISION_METRIC)
    if gain < settings.auto_promote_min_improvement:
        log.info(
            "not auto-promoting: %s improves by %+.4f, under the minimum of %+.4f",
            DECISION_METRIC,
            gain,
            settings.auto_promote_min_improvement,
        )
        return None
    minimum = settings.auto_promote_min_improvement
    return (
        f"auto-promotion: {DECISION_METRIC} {gain:+.4f} over the champion on "
        f"{comparison.n_holdout} hold-out rows (minimum {minimum:+.4f})"
    )
