"""The worker's Prometheus metrics, on a registry of its own (served at /metrics).

>>> metrics = StreamMetrics()
>>> metrics.dead_letters.labels(reason="malformed_json").inc()
>>> b'centinela_dead_letters_total{reason="malformed_json"} 1.0' in metrics.render()
True
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from stream.batch_output import BatchStats
from stream.challenger_evidence import Live, live_number, verdict_sign

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StreamMetrics:
    """Counters, gauges and histograms of one worker process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "centinela_events", "Feature events read, by outcome", ["outcome"], registry=r
        )
        self.labels = Counter(
            "centinela_labels", "Label events read, by outcome", ["outcome"], registry=r
        )
        self.batches = Counter("centinela_batches", "Micro-batches scored", registry=r)
        self.batch_size = Histogram(
            "centinela_batch_size",
            "Events per micro-batch",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
            registry=r,
        )
        self.scoring_latency = Histogram(
            "centinela_scoring_latency_seconds",
            "From a batch leaving Kafka to its predictions being ready",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.event_lag = Histogram(
            "centinela_event_lag_seconds",
            "From an event's Kafka timestamp to its prediction being ready (sampled)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.dead_letters = Counter(
            "centinela_dead_letters", "Messages dead-lettered, by reason", ["reason"], registry=r
        )
        self.join_pending_events = Gauge(
            "centinela_join_pending_events", "Scored events held by the label join", registry=r
        )
        self.join_pending_labels = Gauge(
            "centinela_join_pending_labels", "Labels waiting for their event", registry=r
        )
        self.windows_closed = Counter(
            "centinela_window_partials_closed", "Partition window summaries closed", registry=r
        )
        self.windows_reported = Counter(
            "centinela_windows_reported", "Merged windows tested and reported", registry=r
        )
        self.windows_failed = Counter(
            "centinela_windows_failed",
            "Window partials or merged windows that could not be read or tested (see the log)",
            registry=r,
        )
        self.drift_flag = Gauge(
            "centinela_drift_flag", "1 if the last window showed this drift", ["kind"], registry=r
        )
        self.model_version = Gauge(
            "centinela_model_version",
            "1 for the champion version being scored",
            ["version"],
            registry=r,
        )
        self.hot_swaps = Counter("centinela_hot_swaps", "Champion switches", registry=r)
        self.challenger_version = Gauge(
            "centinela_challenger_version",
            "1 for the challenger version scored in the shadow (no series without one)",
            ["version"],
            registry=r,
        )
        self.shadow_predictions = Counter(
            "centinela_shadow_predictions",
            "Predictions of the challenger, scored in the shadow, to shadow-predictions",
            registry=r,
        )
        self.canary_predictions = Counter(
            "centinela_canary_predictions",
            "Events served on predictions by the challenger, as the canary",
            registry=r,
        )
        self.canary_share = Gauge(
            "centinela_canary_share",
            "Share of events the challenger serves now (0 without a challenger, or once its "
            "canary stopped)",
            registry=r,
        )
        self.challenger_labeled = Gauge(
            "centinela_challenger_labeled",
            "Labeled outcomes the challenger also scored in the shadow, in the last reported "
            "window that had any",
            ["version"],
            registry=r,
        )
        self.challenger_accuracy = Gauge(
            "centinela_challenger_accuracy",
            "Realised accuracy of the challenger on those outcomes",
            ["version"],
            registry=r,
        )
        self.paired_accuracy = Gauge(
            "centinela_challenger_paired_champion_accuracy",
            "Realised accuracy of the champion on the same outcomes as the challenger's",
            ["version"],
            registry=r,
        )
        self.challenger_live_verdict = Gauge(
            "centinela_challenger_live_verdict",
            "Always-valid verdict on the challenger against the champion over every window since "
            "it was first compared: 1 better, -1 worse, 0 not yet known",
            ["version"],
            registry=r,
        )
        self.challenger_live_difference = Gauge(
            "centinela_challenger_live_difference",
            "Accuracy of the challenger minus the champion's on the same labeled events, over "
            "every window since it was first compared",
            ["version"],
            registry=r,
        )
        self.ready = Gauge("centinela_ready", "1 when the worker scores", registry=r)
        self.alerts = Counter("centinela_alerts", "Alerts raised, by kind", ["kind"], registry=r)
        self.retrain_requests = Counter(
            "centinela_retrain_requests", "Retrain requests emitted", registry=r
        )
        self.mlflow_queue_depth = Gauge(
            "centinela_mlflow_queue_depth", "Window metrics waiting for MLflow", registry=r
        )
        self.mlflow_overflow = Counter(
            "centinela_mlflow_queue_overflow", "Window metrics dropped: queue full", registry=r
        )
        self.mlflow_errors = Counter(
            "centinela_mlflow_errors", "Failed MLflow calls (retried)", registry=r
        )
        self.webhook_failures = Counter(
            "centinela_webhook_failures", "Alerts the webhook never accepted", registry=r
        )
        self.estimated_accuracy = Gauge(
            "centinela_estimated_accuracy",
            "Accuracy of the last reported window, estimated from the model's calibrated "
            "probabilities (before labels)",
            registry=r,
        )
        self.estimation_error = Gauge(
            "centinela_estimation_error_accuracy",
            "Estimated minus realised accuracy on the labeled outcomes of the last window that "
            "had them",
            registry=r,
        )

    def set_estimate(self, estimated: dict[str, float], error: dict[str, float]) -> None:
        """The gauges of a reported window's estimate; a window without one leaves them."""
        if "accuracy" in estimated:
            self.estimated_accuracy.set(estimated["accuracy"])
        if "accuracy" in error:
            self.estimation_error.set(error["accuracy"])

    def set_challenger_window(
        self,
        version: str | None,
        labeled: int,
        performance: dict[str, float],
        paired_champion: dict[str, float],
        live: Live,
    ) -> None:
        """The gauges of a reported window's challenger; a window without one leaves them (its
        labels may simply not have come yet), a window of another challenger replaces them."""
        if version is None:
            return
        gauges = (self.challenger_labeled, self.challenger_accuracy, self.paired_accuracy)
        for gauge in (*gauges, self.challenger_live_verdict, self.challenger_live_difference):
            gauge.clear()
        self.challenger_labeled.labels(version=version).set(labeled)
        if "accuracy" in performance:
            self.challenger_accuracy.labels(version=version).set(performance["accuracy"])
        if "accuracy" in paired_champion:
            self.paired_accuracy.labels(version=version).set(paired_champion["accuracy"])
        sign, difference = verdict_sign(live), live_number(live, "difference")
        if sign is not None:
            self.challenger_live_verdict.labels(version=version).set(sign)
        if difference is not None:
            self.challenger_live_difference.labels(version=version).set(difference)

    def observe_batch(
        self, stats: BatchStats, batch_seconds: float, features: Iterable[Sequence[Any]]
    ) -> None:
        """Count one batch's outcome; ``features`` are its feature messages, per partition (a
        few of each are sampled for the event lag)."""
        if stats.events or stats.labels:
            self.batches.inc()
            self.batch_size.observe(stats.events)
            self.scoring_latency.observe(batch_seconds)
        self.events.labels(outcome="scored").inc(stats.scored)
        self.shadow_predictions.inc(stats.shadow_scored)
        self.canary_predictions.inc(stats.canary_served)
        self.events.labels(outcome="late").inc(stats.late_events)
        self.labels.labels(outcome="joined").inc(stats.joined)
        self.labels.labels(outcome="late").inc(stats.late_outcomes)
        self.labels.labels(outcome="read").inc(stats.labels)
        self.windows_closed.inc(stats.windows_closed)
        for reason, count in stats.dead_letters.items():
            self.dead_letters.labels(reason=reason).inc(count)
        self.events.labels(outcome="dead_lettered").inc(stats.events - stats.scored)
        now_ms = time.time() * 1000.0
        for messages in features:
            for message in messages[:: max(1, len(messages) // 8)]:
                self.event_lag.observe(max(now_ms - message.timestamp, 0.0) / 1000.0)

    def set_version(self, version: str) -> None:
        self.model_version.clear()
        self.model_version.labels(version=version).set(1)

    def set_challenger_version(self, version: str | None) -> None:
        self.challenger_version.clear()
        if version is not None:
            self.challenger_version.labels(version=version).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
