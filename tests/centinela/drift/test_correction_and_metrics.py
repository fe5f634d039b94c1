"""Multiple-testing corrections and windowed performance metrics against their references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as sk

from centinela.drift.correction import reject
from centinela.drift.exceptions import UnknownTestError
from centinela.drift.performance import error_rate_pvalue, performance


def test_bonferroni_rejects_below_alpha_over_m() -> None:
    p = [0.001, 0.0125, 0.0126, 0.9]
    assert reject(p, alpha=0.05, method="bonferroni") == [True, True, False, False]
    assert reject([], alpha=0.05, method="bonferroni") == []


@pytest.mark.parametrize("seed", range(5))
def test_benjamini_hochberg_equals_scipy_false_discovery_control(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=30), rng.uniform(0, 0.005, size=8)])
    rng.shuffle(p)
    expected = (stats.false_discovery_control(p, method="bh") <= 0.05).tolist()
    assert reject(p.tolist(), alpha=0.05, method="bh") == expected
    assert sum(expected) >= 8  # the planted small p-values are found


def test_unknown_correction_is_named() -> None:
    with pytest.raises(UnknownTestError, match="holm"):
        reject([0.1], alpha=0.05, method="holm")


def _outcomes(seed: int, n_classes: int, n: int = 500) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    proba = rng.dirichlet(np.ones(n_classes), size=n)
    proba[np.arange(n), labels] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    proba[0] = np.eye(n_classes)[(labels[0] + 1) % n_classes]  # a confident miss: clipped
    predicted = proba.argmax(axis=1)
    return labels, predicted, proba


def test_binary_metrics_equal_scikit_learn() -> None:
    labels, predicted, proba = _outcomes(1, 2)
    ours = performance(labels, predicted, proba, n_classes=2)
    assert ours["accuracy"] == pytest.approx(sk.accuracy_score(labels, predicted), abs=1e-15)
    assert ours["f1"] == pytest.approx(sk.f1_score(labels, predicted), abs=1e-12)
    assert ours["log_loss"] == pytest.approx(sk.log_loss(labels, proba), rel=1e-12)
    assert ours["roc_auc"] == pytest.approx(sk.roc_auc_score(labels, proba[:, 1]), rel=1e-12)


def test_multiclass_metrics_equal_scikit_learn() -> None:
    labels, predicted, proba = _outcomes(2, 4)
    predicted[predicted == 3] = 2  # class 3 never predicted: F1 0 for it, as scikit-learn
    ours = performance(labels, predicted, proba, n_classes=4)
    expected_f1 = sk.f1_score(labels, predicted, labels=[0, 1, 2, 3], average="macro")
    assert ours["f1"] == pytest.approx(expected_f1, abs=1e-12)
    assert ours["log_loss"] == pytest.approx(sk.log_loss(labels, proba, labels=[0, 1, 2, 3]))
    assert "roc_auc" not in ours


def test_metrics_without_probabilities_or_one_class() -> None:
    labels = np.zeros(10, dtype=int)
    predicted = np.array([0] * 8 + [1] * 2)
    ours = performance(labels, predicted, None, n_classes=2)
    assert ours == {"accuracy": 0.8, "f1": 0.0}
    assert performance(labels[:0], predicted[:0], None, n_classes=2) == {}


def test_error_rate_test_is_a_one_sided_exact_binomial() -> None:
    expected = stats.binomtest(30, 100, 0.2, alternative="greater").pvalue
    assert error_rate_pvalue(errors=30, n=100, baseline_error=0.2) == pytest.approx(expected)
    assert error_rate_pvalue(errors=0, n=100, baseline_error=0.2) == 1.0
    assert error_rate_pvalue(errors=5, n=100, baseline_error=0.0) == 0.0
    assert error_rate_pvalue(errors=10, n=100, baseline_error=0.2) > 0.99
