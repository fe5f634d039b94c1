"""Automatic promotion: off unless ``CENTINELA_AUTO_PROMOTE=true``.

A challenger is promoted without a person only when its hold-out is large enough
(``auto_promote_min_holdout``) and it passed MLflow's promotion gate: a ``MetricThreshold``
that asks for ``f1_score`` at least ``auto_promote_min_improvement`` above the champion's on
the same rows (:mod:`retrain.mlflow_evaluation`).

>>> from centinela.contract.settings import Settings
>>> better = Comparison({"f1": 0.90}, {"f1": 0.80}, n_holdout=5000).with_gate(True, "f1 +0.1")
>>> auto_promotion(better, Settings(_env_file=None)) is None   # off by default
True
>>> auto_promotion(better, Settings(_env_file=None, auto_promote=True))
'auto-promotion on 5000 hold-out rows: f1 +0.1'
>>> failed = better.with_gate(False, "f1_score minimum absolute change check failed")
>>> auto_promotion(failed, Settings(_env_file=None, auto_promote=True)) is None
True
"""

from __future__ import annotations

import logging

from centinela.contract.settings import Settings
from retrain.evaluation import Comparison

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
    if not comparison.gate_passed:
        log.info("not auto-promoting: %s", comparison.gate_reason or "MLflow's gate never ran")
        return None
    return f"auto-promotion on {comparison.n_holdout} hold-out rows: {comparison.gate_reason}"
