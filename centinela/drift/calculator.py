"""Test one merged window against the reference profile: the window's :class:`DriftReport`.

Per feature, the configured test decides (:class:`~centinela.drift.config.DriftConfig`'s
``numeric_test``, ``categorical_test``);
PSI and a distance (Wasserstein for numerics, Jensen-Shannon for categoricals and predictions;
JS for numerics too when that is the test) are reported alongside. Predictions get a chi-square
test of their class counts against the reference's. With a PCA in the profile, the multivariate
test is a KS of the window's reconstruction errors against the reference's (``multivariate``;
:mod:`centinela.models.pca`). The p-value tests of a window (features, prediction and the
multivariate test) form one family, corrected with ``correction`` at ``alpha``; threshold
tests decide alone.

Concept drift here is the window's own significance test: the errors of the labeled outcomes
against the baseline's errors on the profile's validation rows (a one-sided Fisher exact test,
so the baseline counts as the estimate it is, at the window's share of the false-alarm budget,
``DriftConfig.concept_level``), reported as
``performance["performance_drop"]``. A profile without the baseline's counts (written before
they existed) is tested against its baseline accuracy as if it were exact, with a warning. The
sequential detector (:class:`ConceptMonitor`) lives across windows and belongs to the caller,
which may set ``concept_drift`` too.

A window too small for a test to mean anything gets no verdict from it: with fewer than
``min_events`` events the data- and prediction-drift tests are not run, with fewer than
``min_labels`` labeled outcomes the performance-drop test is not run, and the report names the
withheld verdicts in ``verdicts_withheld`` ("data", "performance"); its flags stay False.

Histograms use every event of the window; KS and Wasserstein use the exact subsample (all
events up to ``window_exact_cap``).

Performance is also estimated before labels (:mod:`centinela.drift.estimation`), from the
probabilities of every event of the window with the profile's calibration, as
``estimated_performance``; where the window has labeled outcomes, the same estimate made for
them minus their realised metrics is the estimator's error, ``estimation_error``.

A challenger scoring in the shadow gets its realised metrics on the labeled outcomes it scored,
beside the champion's on the same events (:mod:`centinela.drift.challenger`).
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from centinela.contract.records import DriftReport, FeatureDrift
from centinela.drift.challenger import compare
from centinela.drift.chi2 import chi2_homogeneity
from centinela.drift.config import DriftConfig
from centinela.drift.correction import reject
from centinela.drift.estimation import estimate_performance, estimated_drop, estimation_errors
from centinela.drift.exceptions import SummaryMismatchError
from centinela.drift.histogram import js_distance, psi
from centinela.drift.ks import ks_2samp
from centinela.drift.layout import SummaryLayout
from centinela.drift.performance import (
    error_rate_pvalue,
    error_rate_vs_baseline_pvalue,
    performance,
)
from centinela.drift.statistical_tests import HistogramBatch, NumericBatch, Outcome, get_test
from centinela.drift.summary import WindowSummary
from centinela.models.profile import ReferenceProfile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _ReferenceGroup:
    """Numeric features whose reference samples have one length: one sorted matrix."""

    positions: tuple[int, ...]  # indices into the layout's numeric features
    matrix: np.ndarray
    std: np.ndarray


_REFERENCE_CACHE: dict[int, tuple[SummaryLayout, list[_ReferenceGroup]]] = {}
_WARNED_EXACT_BASELINE: set[int] = set()  # profiles already warned about (by id, while alive)


def _layout(profile: ReferenceProfile) -> SummaryLayout:
    _reference_groups(profile)
    return _REFERENCE_CACHE[id(profile)][0]


def _reference_groups(profile: ReferenceProfile) -> list[_ReferenceGroup]:
    """Sorted reference matrices (and the layout), built once per profile object."""
    key = id(profile)
    cached = _REFERENCE_CACHE.get(key)
    if cached is None:
        samples = profile.sorted_samples
        by_length: dict[int, list[int]] = {}
        for k, name in enumerate(profile.numeric_names):
            by_length.setdefault(samples[name].size, []).append(k)
        groups: list[_ReferenceGroup] = []
        for positions in by_length.values():
            rows = [samples[profile.numeric_names[k]] for k in positions]
            matrix = np.ascontiguousarray(np.stack(rows)) if rows else np.empty((0, 0))
            std = np.array([row.std() if row.size else 0.0 for row in rows])
            groups.append(_ReferenceGroup(tuple(positions), matrix, std))
        cached = (SummaryLayout.from_profile(profile), groups)
        _REFERENCE_CACHE[key] = cached
        weakref.finalize(profile, _REFERENCE_CACHE.pop, key, None)  # ids are reused after GC
    return cached[1]


def compute_drift(
    summary: WindowSummary, profile: ReferenceProfile, config: DriftConfig, *, model_name: str
) -> DriftReport:
    """All the window's tests, corrected, with performance and label statistics."""
    layout = _layout(profile)
    if summary.layout is not layout and summary.layout != layout:
        raise SummaryMismatchError(
            f"window {summary.window_id} of version {summary.model_version} was summarised "
            "with another reference profile"
        )
    withheld: list[Literal["data", "performance"]] = []
    if summary.n_events < config.min_events:
        withheld.append("data")
    if summary.n_labeled < config.min_labels:
        withheld.append("performance")
    tested = summary.n_events > 0 and "data" not in withheld
    features: list[tuple[str, str, str, Outcome, float, float | None, int]] = []
    if tested:
        features = _numeric(summary, profile, config) + _categorical(summary, profile, config)
        features.sort(key=lambda row: layout.names.index(row[0]))
    prediction = _prediction(summary, profile) if tested else None
    joint = _multivariate(summary, profile, config) if tested else None
    outcomes = [row[3] for row in features] + ([prediction[0]] if prediction else [])
    outcomes += [joint[0]] if joint else []
    decided = _decide(outcomes, config)
    multivariate = None
    if joint is not None:
        outcome, psi_value = joint
        multivariate = FeatureDrift(
            feature="multivariate",
            kind="multivariate",
            test="pca_ks",
            statistic=outcome.statistic,
            p_value=outcome.p_value,
            psi=psi_value,
            drifted=decided[-1],
        )
    drifts = [
        FeatureDrift(
            feature=name,
            kind=kind,
            test=test,
            statistic=outcome.statistic,
            p_value=outcome.p_value,
            psi=psi_value,
            distance=distance,
            unseen_categories=unseen,
            drifted=flag,
        )
        for (name, kind, test, outcome, psi_value, distance, unseen), flag in zip(
            features, decided, strict=False
        )
    ]
    prediction_drift = None
    if prediction is not None:
        outcome, psi_value, distance = prediction
        prediction_drift = FeatureDrift(
            feature="prediction",
            kind="prediction",
            test="chi2",
            statistic=outcome.statistic,
            p_value=outcome.p_value,
            psi=psi_value,
            distance=distance,
            drifted=decided[len(features)],
        )
    metrics = _performance(summary, profile, config, test="performance" not in withheld)
    predicted, confidence = summary.confidence()
    estimated = estimate_performance(
        predicted, confidence, n_classes=len(profile.classes), calibration=profile.calibration
    )
    drifted = tuple(d.feature for d in drifts if d.drifted)
    return DriftReport(
        model_name=model_name,
        model_version=summary.model_version,
        window_id=summary.window_id,
        window_start=summary.window_start,
        window_end=summary.window_end,
        n_events=summary.n_events,
        n_labeled=summary.n_labeled,
        features=tuple(drifts),
        prediction=prediction_drift,
        performance=metrics,
        label_coverage=_coverage(summary),
        label_delay_seconds=_mean_delay(summary),
        drifted_features=drifted,
        data_drift=bool(drifted),
        concept_drift=metrics.get("performance_drop", 0.0) == 1.0,
        correction=config.correction,
        alpha=config.alpha,
        verdicts_withheld=tuple(withheld),
        estimated_performance=estimated,
        estimated_drop="data" not in withheld
        and estimated_drop(
            estimated, profile.baseline_metrics.get("accuracy"), config.estimated_drop_tolerance
        ),
        estimation_error=_estimation_error(summary, profile, metrics),
        multivariate=multivariate,
        late_events=summary.late_events,
        late_outcomes=summary.late_outcomes,
        **_challenger_fields(summary, profile),
    )


def _challenger_fields(summary: WindowSummary, profile: ReferenceProfile) -> dict[str, Any]:
    """The report's challenger fields; none (their defaults) without a challenger."""
    found = compare(summary.challenger_outcomes(), n_classes=len(profile.classes))
    if found is None:
        return {}
    return {
        "challenger_version": found.version,
        "challenger_labeled": found.labeled,
        "challenger_performance": found.performance,
        "challenger_paired_champion": found.paired_champion,
        "challenger_paired_counts": found.paired_counts,
    }


_Row = tuple[str, str, str, Outcome, float, float | None, int]


def _numeric(summary: WindowSummary, profile: ReferenceProfile, config: DriftConfig) -> list[_Row]:
    layout = summary.layout
    numeric = layout.numeric
    if not numeric:
        return []
    test = get_test(config.numeric_test, "numeric")
    window_values = summary.exact().columns[0]
    counts = summary.all_feature_counts()
    rows: list[_Row] = []
    for group in _reference_groups(profile):
        positions = [numeric[k] for k in group.positions]
        # One copy, feature per row, sorted in place (the summary's arrays may be read-only).
        window = np.ascontiguousarray(window_values.T[list(group.positions)])
        window.sort(axis=1)
        batch = NumericBatch(
            [layout.names[p] for p in positions],
            [np.asarray(profile.features[p].reference_counts) for p in positions],
            [counts[p] for p in positions],
            reference=group.matrix,
            window=window,
            reference_std=group.std,
            ks_method=config.ks_method,
        )
        outcomes = test.run(batch, config)
        distances = batch.js if test.name == "js" else batch.wasserstein.tolist()
        for k, outcome in enumerate(outcomes):
            rows.append(
                (batch.names[k], "numeric", test.name, outcome, batch.psi[k], distances[k], 0)
            )
    return rows


def _categorical(
    summary: WindowSummary, profile: ReferenceProfile, config: DriftConfig
) -> list[_Row]:
    layout = summary.layout
    positions = [i for i, kind in enumerate(layout.kinds) if kind == "categorical"]
    if not positions:
        return []
    test = get_test(config.categorical_test, "categorical")
    all_counts = summary.all_feature_counts()
    window_counts = [all_counts[p] for p in positions]
    batch = HistogramBatch(
        [layout.names[p] for p in positions],
        [np.append(profile.features[p].reference_counts, 0) for p in positions],  # unseen cell
        window_counts,
    )
    outcomes = test.run(batch, config)
    return [
        (name, "categorical", test.name, outcome, batch.psi[k], batch.js[k], int(counts[-1]))
        for k, (name, outcome, counts) in enumerate(
            zip(batch.names, outcomes, window_counts, strict=True)
        )
    ]


def _prediction(
    summary: WindowSummary, profile: ReferenceProfile
) -> tuple[Outcome, float, float] | None:
    reference = np.array([profile.prediction_counts.get(str(c), 0) for c in profile.classes])
    window = summary.prediction_counts()
    result = chi2_homogeneity(reference, window)
    outcome = Outcome(statistic=result.statistic, p_value=result.pvalue)
    return outcome, psi(reference, window), js_distance(reference, window)


def _multivariate(
    summary: WindowSummary, profile: ReferenceProfile, config: DriftConfig
) -> tuple[Outcome, float] | None:
    """KS of the window's reconstruction errors (its exact subsample) against the reference's,
    and their PSI on the reference's bins; None without a PCA or without errors to test."""
    pca = profile.pca
    if pca is None:
        return None
    errors = summary.reconstruction_errors()
    if errors.size == 0:
        return None
    result = ks_2samp(pca.sorted_errors, np.sort(errors), method=config.ks_method, presorted=True)
    every = summary.events().columns[3]  # the histogram, as the per-feature ones, of all events
    window = pca.error_counts(every[np.isfinite(every)])
    reference = np.asarray(pca.reference_counts)
    return Outcome(statistic=result.statistic, p_value=result.pvalue), psi(reference, window)


def _decide(outcomes: list[Outcome], config: DriftConfig) -> list[bool]:
    tested = [k for k, o in enumerate(outcomes) if o.p_value is not None]
    p_values = [outcomes[k].p_value for k in tested]
    rejected = reject(
        [p for p in p_values if p is not None],
        alpha=config.alpha,
        method=config.correction,
    )
    decided = [o.over_threshold for o in outcomes]
    for k, flag in zip(tested, rejected, strict=True):
        decided[k] = flag
    return decided


def _performance(
    summary: WindowSummary, profile: ReferenceProfile, config: DriftConfig, *, test: bool
) -> dict[str, float]:
    """The window's metrics; with ``test``, the error-rate test against the baseline too."""
    if summary.n_labeled == 0:
        return {}
    outcomes = summary.outcomes()
    predicted = outcomes.columns[0].astype(np.int64)
    labels = outcomes.columns[1].astype(np.int64)
    proba = outcomes.columns[2]
    has_proba = proba.size > 0 and not np.isnan(proba).any()
    result = performance(
        labels, predicted, proba if has_proba else None, n_classes=len(profile.classes)
    )
    errors = int(np.count_nonzero(labels != predicted))
    result["error_rate"] = errors / labels.size
    baseline = profile.baseline_metrics.get("accuracy")
    if baseline is None:
        return result
    result["baseline_accuracy"] = float(baseline)
    if profile.baseline_rows is not None and profile.baseline_errors is not None:
        result["baseline_rows"] = float(profile.baseline_rows)
    if not test:
        return result
    result["error_rate_p_value"] = _error_rate_p_value(profile, errors, labels.size, baseline)
    level = config.concept_level(summary.n_labeled)
    result["performance_drop"] = float(result["error_rate_p_value"] < level)
    return result


def _error_rate_p_value(
    profile: ReferenceProfile, errors: int, n: int, baseline_accuracy: float
) -> float:
    """Fisher's test against the baseline's counts; the exact-baseline binomial test (with one
    warning per profile) for a profile written without them."""
    if profile.baseline_rows is not None and profile.baseline_errors is not None:
        return error_rate_vs_baseline_pvalue(
            errors=errors,
            n=n,
            baseline_errors=profile.baseline_errors,
            baseline_n=profile.baseline_rows,
        )
    key = id(profile)
    if key not in _WARNED_EXACT_BASELINE:
        _WARNED_EXACT_BASELINE.add(key)
        weakref.finalize(profile, _WARNED_EXACT_BASELINE.discard, key)
        log.warning(
            "the reference profile has no baseline row and error counts (written before they "
            "existed): its baseline accuracy %.4f is treated as exact, which raises more false "
            "performance-drop alarms than the level says; retrain or re-profile the model to "
            "record them",
            baseline_accuracy,
        )
    return error_rate_pvalue(errors=errors, n=n, baseline_error=1.0 - baseline_accuracy)


def _estimation_error(
    summary: WindowSummary, profile: ReferenceProfile, realised: dict[str, float]
) -> dict[str, float]:
    """The estimate for the window's labeled outcomes (from their own probabilities) minus
    their realised metrics: the estimator's error on the events whose truth is known."""
    if not realised:
        return {}
    outcomes = summary.outcomes()
    predicted = outcomes.columns[0].astype(np.int64)
    proba = outcomes.columns[2]
    confidence = proba[np.arange(predicted.size), predicted]
    if not np.all(np.isfinite(confidence)):
        return {}  # as the realised log loss and ROC AUC: all outcomes' probabilities or none
    estimate = estimate_performance(
        predicted, confidence, n_classes=len(profile.classes), calibration=profile.calibration
    )
    return estimation_errors(estimate, realised)


def _coverage(summary: WindowSummary) -> float | None:
    if summary.n_events == 0:
        return None
    return min(1.0, summary.n_labeled / summary.n_events)


def _mean_delay(summary: WindowSummary) -> float | None:
    if summary.n_labeled == 0:
        return None
    return float(np.mean(summary.outcomes().columns[3]))
