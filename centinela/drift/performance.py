"""Windowed performance from labeled outcomes, and the tests of the error rate against baseline.

The baseline error rate is itself an estimate, from the ``baseline_n`` labeled rows of the
profile's validation data. :func:`error_rate_vs_baseline_pvalue` accounts for that: a one-sided
two-sample test of the window's errors against the baseline's (Fisher's exact test, the
hypergeometric tail given both counts), whose false-alarm rate is at or below its level for
every baseline and window size. :func:`error_rate_pvalue` treats the baseline rate as exact; it
is kept for profiles written without the baseline's counts, and its false-alarm rate grows with
the window (about 9% at a level of 0.001 with a 500-row baseline and 2,000 labels per window).

Classes are indices into the profile's ``classes``. The metrics equal scikit-learn's
(``accuracy_score``; ``f1_score`` binary with positive class ``classes[1]``, else macro over all
classes; ``log_loss`` with ``labels=classes``; ``roc_auc_score`` on the positive-class
probability) without scikit-learn's validation overhead, which costs more than a window.

>>> import numpy as np
>>> y, pred = np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])
>>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
>>> m = performance(y, pred, proba, n_classes=2)
>>> m["accuracy"], round(m["f1"], 4), round(m["roc_auc"], 4)
(0.75, 0.6667, 1.0)
>>> round(error_rate_pvalue(errors=30, n=100, baseline_error=0.2), 4)
0.0112
>>> round(error_rate_vs_baseline_pvalue(errors=30, n=100, baseline_errors=20, baseline_n=100), 4)
0.0706
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats


def performance(
    labels: np.ndarray, predicted: np.ndarray, probabilities: np.ndarray | None, *, n_classes: int
) -> dict[str, float]:
    """accuracy, f1, and with probabilities log_loss and (binary, both classes seen) roc_auc."""
    if labels.size == 0:
        return {}
    result = {
        "accuracy": float(np.mean(labels == predicted)),
        "f1": f1(labels, predicted, n_classes=n_classes),
    }
    if probabilities is not None:
        result["log_loss"] = log_loss(labels, probabilities)
        if n_classes == 2 and 0 < int(labels.sum()) < labels.size:
            result["roc_auc"] = roc_auc(labels == 1, probabilities[:, 1])
    return result


def f1(labels: np.ndarray, predicted: np.ndarray, *, n_classes: int) -> float:
    confusion = np.bincount(labels * n_classes + predicted, minlength=n_classes * n_classes)
    confusion = confusion.reshape(n_classes, n_classes)
    true_pos = np.diag(confusion).astype(np.float64)
    false_pos = confusion.sum(axis=0) - true_pos
    false_neg = confusion.sum(axis=1) - true_pos
    denominator = 2 * true_pos + false_pos + false_neg
    # scikit-learn's zero_division default: a class never predicted nor present scores 0
    scores = np.divide(2 * true_pos, denominator, out=np.zeros(n_classes), where=denominator > 0)
    return float(scores[1]) if n_classes == 2 else float(np.mean(scores))


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    eps = np.finfo(np.float64).eps
    chosen = probabilities[np.arange(labels.size), labels]
    return float(np.mean(-np.log(np.clip(chosen, eps, 1 - eps))))


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney form of the area under the ROC curve (ties count one half)."""
    ranks = stats.rankdata(score)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def error_rate_pvalue(*, errors: int, n: int, baseline_error: float) -> float:
    """One-sided exact binomial p-value of seeing ``errors`` or more in ``n`` at the baseline
    error rate: small means the model got worse than on validation data."""
    if n == 0 or errors == 0:
        return 1.0
    if baseline_error <= 0.0:
        return 0.0
    return float(special.bdtrc(errors - 1, n, baseline_error))


def error_rate_vs_baseline_pvalue(
    *, errors: int, n: int, baseline_errors: int, baseline_n: int
) -> float:
    """One-sided Fisher exact p-value that the window's error rate (``errors`` of ``n``) is
    above the baseline's (``baseline_errors`` of ``baseline_n``).

    Given all ``errors + baseline_errors`` errors among the ``n + baseline_n`` rows, the
    window's share of them is hypergeometric when both rates are equal; the p-value is the
    chance of ``errors`` or more. Conditioning makes the test exact (conservative) whatever the
    common rate, so the baseline's own sampling error cannot raise false alarms.
    """
    if n == 0 or errors == 0:
        return 1.0
    return float(
        fisher_greater_pvalues(np.asarray([errors]), n, np.asarray([baseline_errors]), baseline_n)[
            0
        ]
    )


def fisher_greater_pvalues(
    errors: np.ndarray,
    n: int | np.ndarray,
    baseline_errors: np.ndarray,
    baseline_n: int | np.ndarray,
) -> np.ndarray:
    """:func:`error_rate_vs_baseline_pvalue` for arrays of counts at once (1 where no errors)."""
    errors = np.asarray(errors, dtype=np.int64)
    n_arr = np.broadcast_to(np.asarray(n, dtype=np.int64), errors.shape)
    baseline = np.asarray(baseline_errors, dtype=np.int64)
    baseline_rows = np.broadcast_to(np.asarray(baseline_n, dtype=np.int64), errors.shape)
    total_errors = errors + baseline
    p_values = stats.hypergeom.sf(errors - 1, n_arr + baseline_rows, total_errors, n_arr)
    p_values = np.clip(np.asarray(p_values, dtype=np.float64), 0.0, 1.0)
    return np.where((errors <= 0) | (n_arr == 0), 1.0, p_values)
