"""Automatic promotion: off unless ``CENTINELA_AUTO_PROMOTE=true``.

A challenger is promoted without a person only when its hold-out is large enough
(``auto_promote_min_holdout``), it passed MLflow's promotion gate on that hold-out (a
``MetricThreshold`` asking for ``f1_score`` at least ``auto_promote_min_improvement`` above the
champion's, :mod:`retrain.mlflow_evaluation`), and the live evidence calls it better: the
always-valid paired test on the labeled events after its training data
(:mod:`retrain.live_evidence`). The retrain worker looks every
``auto_promote_check_seconds``; the hold-out gate keeps a clearly weaker challenger from
being watched at all, the live verdict decides.

>>> from datetime import UTC, datetime
>>> from centinela.contract.settings import Settings
>>> from centinela.models.live_comparison import LiveComparison
>>> better = Comparison({"f1": 0.90}, {"f1": 0.80}, n_holdout=5000).with_gate(True, "f1 +0.1")
>>> live = LiveComparison()
>>> live.update([1] * 300 + [0] * 700, [0] * 1000)
>>> evidence = LiveEvidence("1", "2", datetime(2026, 1, 1, tzinfo=UTC), live)
>>> auto_promotion(better, Settings(_env_file=None), evidence) is None   # off by default
True
>>> reason = auto_promotion(better, Settings(_env_file=None, auto_promote=True), evidence)
>>> "verdict: better" in reason and reason.endswith("5000 hold-out rows: f1 +0.1)")
True
>>> failed = better.with_gate(False, "f1_score minimum absolute change check failed")
>>> auto_promotion(failed, Settings(_env_file=None, auto_promote=True), evidence) is None
True
"""

from __future__ import annotations

import logging

from centinela.contract.settings import Settings
from retrain.evaluation import Comparison
from retrain.live_evidence import LiveEvidence

log = logging.getLogger(__name__)

AUTO_ACTOR = "centinela-auto-promote"


def auto_promotion(
    comparison: Comparison, settings: Settings, evidence: LiveEvidence | None
) -> str | None:
    """The reason to promote automatically, or None to leave it to a person (or to later)."""
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
    if evidence is None or evidence.verdict != "better":
        log.info("not auto-promoting yet: %s", "no live evidence" if evidence is None
                 else evidence.describe())  # fmt: skip
        return None
    return (
        f"auto-promotion: {evidence.describe()} (MLflow's gate on {comparison.n_holdout} "
        f"hold-out rows: {comparison.gate_reason})"
    )
