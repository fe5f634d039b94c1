"""False alerts per signal on long stable streams (``bench_false_alarms.py --alerts``).

The retrain-request count of ``bench_false_alarms.py`` simulates the error stream only; alerts
come from the whole window path. Here every window of a stable stream goes through it as the
stream runs it: a logistic-regression champion per seed, trained and profiled on the
``stable`` scenario's pre-drift rows as ``centinela bootstrap`` does (so each seed has its own
reference sample, PCA and calibration); the scenario's events, 2,000 to a window, every one
labeled, summarised with their probabilities (:class:`WindowSummary`), tested by
:func:`compute_drift` with the default :class:`DriftConfig`, the sequential detector (ADWIN at
its budgeted delta) fed the window's errors as ``stream/reporting.py`` does, and the alerts
counted by kind from :func:`stream.alerts.alerts_for`, the function the stream publishes from.
On a stable stream every alert is false.

Beside each signal, its nominal per-window level: data drift, prediction drift and the
multivariate test share one Bonferroni family at ``alpha`` over the window's p-value tests
(20 features, the prediction, the multivariate test); the performance-drop test runs at
``concept_level(2,000)``; ADWIN's delta is per detector, not per window; the estimated drop is
a tolerance, not a level.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from centinela.drift import DriftConfig, WindowSummary, compute_drift
from centinela.drift.concept import ConceptMonitor
from centinela.models.publishing import TrainedModel, fit_and_profile
from centinela.models.trainers import DEFAULT_TRAINER
from producers.catalogue import EVENTS_PER_WINDOW, get_scenario
from producers.scenario import Block, ScenarioStream, pre_drift_frame
from stream.alerts import alerts_for
from stream.reporting import outcome_errors

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SIGNALS = (
    "data_drift",
    "prediction_drift",
    "multivariate_drift",
    "estimated_performance_drop",
    "concept_drift",
)


def champion(seed: int) -> TrainedModel:
    frame, labels = pre_drift_frame(get_scenario("stable"), 40_000, seed)
    split = len(frame) * 3 // 4
    return fit_and_profile(
        DEFAULT_TRAINER, {}, frame.iloc[:split], labels[:split],
        reference=(frame.iloc[split:], labels[split:]),
    )  # fmt: skip


def windows(seed: int, events: int) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """The stable scenario's events, one window at a time (never the whole stream in memory)."""
    stream = ScenarioStream(get_scenario("stable"), seed)
    pending: list[Block] = []
    sent = 0
    while sent < events:
        while sum(b.n for b in pending) < EVENTS_PER_WINDOW:
            block = stream.next_block()
            assert block is not None, "the Gaussian source is endless"
            pending.append(block)
        joined = Block.concat(pending)
        window, rest = joined.slice(0, EVENTS_PER_WINDOW), joined.slice(EVENTS_PER_WINDOW, joined.n)
        pending = [rest] if rest.n else []
        sent += window.n
        frame = pd.DataFrame(
            {n: np.asarray(window.features[n], dtype=np.float64) for n in stream.feature_names}
        )
        yield frame, np.asarray(window.labels)


def run_seed(seed: int, events: int) -> dict[str, int]:
    """Alerts by kind, and windows tested, over ``events`` stable events of one seed."""
    logging.disable(logging.WARNING)
    trained = champion(seed)
    model, profile = trained.model, trained.profile
    config = DriftConfig()
    monitor = ConceptMonitor("adwin", **config.detector_params("adwin"))
    counts: Counter[str] = Counter()
    for window_id, (frame, labels) in enumerate(windows(seed, events)):
        proba = model.predict_proba(frame)
        predicted = np.asarray(model.classes_)[proba.argmax(axis=1)]
        start = window_id * EVENTS_PER_WINDOW
        ids = [f"s{seed}-{i}" for i in range(start, start + len(labels))]
        summary = WindowSummary.empty(
            profile, model_version="1", window_id=window_id,
            window_start=T0 + timedelta(seconds=20 * window_id),
            window_end=T0 + timedelta(seconds=20 * (window_id + 1)), exact_cap=20_000,
        )  # fmt: skip
        summary.add_events(ids, frame, predicted, proba)
        summary.add_outcomes(ids, predicted, labels, proba, [0.0] * len(labels))
        report = compute_drift(summary, profile, config, model_name="bench")
        sequential = monitor.update(outcome_errors(summary))
        if sequential:
            report = report.model_copy(update={"concept_drift": True})
        counts["windows"] += 1
        counts["adwin"] += int(sequential)
        counts["performance_drop"] += int(report.performance.get("performance_drop") == 1.0)
        for alert in alerts_for(report):
            counts[alert.kind] += 1
    return {key: counts[key] for key in (*SIGNALS, "windows", "adwin", "performance_drop")}


def nominal(config: DriftConfig, n_features: int) -> dict[str, str]:
    """Each signal's level per window, as configured (what the measured rate is held against)."""
    family = n_features + 2  # the features, the prediction, the multivariate test
    per_test = config.alpha / family
    concept = config.concept_level(EVENTS_PER_WINDOW)
    delta = config.detector_params("adwin")["delta"]
    window = EVENTS_PER_WINDOW
    data = n_features * per_test
    return {
        "data_drift": f"<= {n_features} x {per_test:.2g} = {data:.2g} per window "
        f"({config.correction} at {config.alpha} over {family} tests): >= {window / data:,.0f} "
        "events per alert",
        "prediction_drift": f"{per_test:.2g} per window: {window / per_test:,.0f} events",
        "multivariate_drift": f"{per_test:.2g} per window: {window / per_test:,.0f} events",
        "estimated_performance_drop": f"a tolerance ({config.estimated_drop_tolerance}), not a "
        "level",
        "concept_drift": f"Fisher {concept:.2g} per window ({window / concept:,.0f} events) + "
        f"ADWIN at delta {delta:g} (half the budget): {config.false_alarm_budget_events:,.0f} "
        "events together (the budget)",
    }
