"""Performance before labels: a window's metrics estimated from the model's own probabilities
(docs/architecture.md, "Drift methodology", "Performance before labels").

Confidence-based, as NannyML's CBPE: if the probabilities are calibrated, an event predicted
with calibrated probability ``q`` of being right is right ``q`` of the time, so the expected
accuracy of a window is the mean of ``q`` over its events, whatever its labels. The calibration
is the profile's (:class:`~centinela.models.calibration.Calibration`, isotonic, fitted on the
reference rows); without one (a profile written before it existed) the raw probabilities are
taken as calibrated and the estimate says so (``calibrated`` 0).

Binary models get more: with ``p`` the calibrated probability of the positive class
(``classes[1]``), each event adds ``p`` to the expected true positives and ``1 - p`` to the
expected false positives when predicted positive, ``p`` to the expected false negatives and
``1 - p`` to the expected true negatives when predicted negative. Precision, recall and F1 are
those expected cells' ratios (as CBPE computes them); ROC AUC is the ratio of the expected
number of (positive, negative) pairs the raw scores order rightly (ties one half) to the
expected number of such pairs; log loss is the expected loss of the raw probabilities. A
multiclass model's calibration is of its top-class probability only, which gives accuracy.

The estimate is right when the model's calibration holds on the window: under covariate shift
(the inputs move, ``P(y | x)`` does not) it follows the realised performance; under concept
change (``P(y | x)`` moves) it cannot see the drop, which only labels show. Comparing both is
what :func:`estimation_errors` is for.

>>> import numpy as np
>>> predicted = np.array([1, 1, 0, 0])
>>> confidence = np.array([0.9, 0.6, 0.8, 0.7])  # the probability of the predicted class
>>> estimate = estimate_performance(predicted, confidence, n_classes=2, calibration=None)
>>> round(estimate["accuracy"], 4), round(estimate["f1"], 4), estimate["calibrated"]
(0.75, 0.75, 0.0)
>>> estimation_errors(estimate, {"accuracy": 0.5, "f1": 0.8})["accuracy"]
0.25
"""

from __future__ import annotations

import logging

import numpy as np

from centinela.models.calibration import Calibration

log = logging.getLogger(__name__)

# What the estimate may hold, in the order it is shown; "calibrated" (1 or 0) says whether the
# profile's calibration was applied.
ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")

_WARNED: set[tuple[str, int]] = set()


def estimate_performance(
    predicted: np.ndarray,
    confidence: np.ndarray,
    *,
    n_classes: int,
    calibration: Calibration | None,
) -> dict[str, float]:
    """The estimated metrics of events predicted as ``predicted`` (class indices) with the
    model's probability ``confidence`` of that class each; events whose probability is NaN are
    left out. Empty when no event has one."""
    keep = np.isfinite(confidence)
    if not keep.any():
        return {}
    predicted = np.asarray(predicted, dtype=np.int64)[keep]
    raw = np.clip(np.asarray(confidence, dtype=np.float64)[keep], 0.0, 1.0)
    calibration = _usable(calibration, n_classes)
    if n_classes != 2:
        right = raw if calibration is None else calibration.apply(raw)
        return {"accuracy": float(np.mean(right)), "calibrated": float(calibration is not None)}
    positive = predicted == 1
    raw_positive = np.where(positive, raw, 1.0 - raw)
    if calibration is None:
        p = raw_positive
    elif calibration.target == "positive_class":
        p = calibration.apply(raw_positive)
    else:  # a binary model calibrated on its top class
        right = calibration.apply(raw)
        p = np.where(positive, right, 1.0 - right)
    result = _binary(p, positive, raw_positive)
    result["calibrated"] = float(calibration is not None)
    return result


def estimated_drop(
    estimate: dict[str, float], baseline_accuracy: float | None, tolerance: float
) -> bool:
    """Whether the estimated accuracy is more than ``tolerance`` below the baseline: the model
    is expected to suffer before any label says so (a covariate shift towards its boundary).
    A tolerance, not a test: the estimate of a window of 2,000 events moves by about 0.003
    under no drift (docs/benchmarks.md, "False alerts per signal"), so 0.05 is far outside it.

    >>> [estimated_drop({"accuracy": value}, 0.90, 0.05) for value in (0.84, 0.86)]
    [True, False]
    >>> estimated_drop({}, 0.90, 0.05), estimated_drop({"accuracy": 0.5}, None, 0.05)
    (False, False)
    """
    if baseline_accuracy is None or "accuracy" not in estimate:
        return False
    return baseline_accuracy - estimate["accuracy"] > tolerance


def estimation_errors(estimate: dict[str, float], realised: dict[str, float]) -> dict[str, float]:
    """Estimated minus realised, for every metric both have (positive: the estimate was
    optimistic, except for log loss, where lower is better)."""
    return {
        name: float(estimate[name] - realised[name])
        for name in ESTIMATED_METRICS
        if name in estimate and name in realised
    }


def _binary(p: np.ndarray, positive: np.ndarray, raw_positive: np.ndarray) -> dict[str, float]:
    """Expected confusion cells from the calibrated positive-class probabilities ``p``."""
    true_pos = float(np.sum(p[positive]))
    false_pos = float(np.sum(1.0 - p[positive]))
    false_neg = float(np.sum(p[~positive]))
    true_neg = float(np.sum(1.0 - p[~positive]))
    result = {"accuracy": (true_pos + true_neg) / p.size}
    if true_pos + false_pos > 0:
        result["precision"] = true_pos / (true_pos + false_pos)
    if true_pos + false_neg > 0:
        result["recall"] = true_pos / (true_pos + false_neg)
    denominator = 2 * true_pos + false_pos + false_neg
    result["f1"] = 2 * true_pos / denominator if denominator > 0 else 0.0  # scikit-learn's 0
    auc = _expected_auc(p, raw_positive)
    if auc is not None:
        result["roc_auc"] = auc
    eps = np.finfo(np.float64).eps
    score = np.clip(raw_positive, eps, 1 - eps)
    result["log_loss"] = float(np.mean(-(p * np.log(score) + (1.0 - p) * np.log(1.0 - score))))
    return result


def _expected_auc(p: np.ndarray, score: np.ndarray) -> float | None:
    """Expected rightly ordered (positive, negative) pairs over expected pairs: event ``i`` is
    positive with probability ``p[i]``, pairs of an event with itself do not count."""
    values, group = np.unique(score, return_inverse=True)
    positives = np.bincount(group, weights=p, minlength=values.size)
    negatives = np.bincount(group, weights=1.0 - p, minlength=values.size)
    below = np.cumsum(negatives) - negatives
    self_pairs = float(np.sum(p * (1.0 - p)))
    pairs = float(positives.sum() * negatives.sum()) - self_pairs
    if pairs <= 1e-12:
        return None
    ordered = float(np.sum(positives * (below + 0.5 * negatives))) - 0.5 * self_pairs
    return ordered / pairs


def _usable(calibration: Calibration | None, n_classes: int) -> Calibration | None:
    """The calibration if it fits the model's number of classes (a positive-class calibration
    is binary only), else None with one warning."""
    if calibration is None or calibration.target == "top_class" or n_classes == 2:
        return calibration
    key = (calibration.target, n_classes)
    if key not in _WARNED:
        _WARNED.add(key)
        log.warning(
            "a %s calibration does not fit a model of %d classes: the estimate uses the raw "
            "probabilities",
            calibration.target,
            n_classes,
        )
    return None
