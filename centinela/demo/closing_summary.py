"""The end-of-demo summary: what was scored, what was detected where, what the loop did about
each change (an alert, a retrain request), and what the retrain made."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from centinela.contract.records import Alert, DriftReport, ModelEvent, RetrainRequest
from centinela.contract.settings import Settings
from centinela.demo.observer import DemoState

# Which flag of a DriftReport answers which kind of injected drift.
CONCEPT_KINDS = ("concept", "label_function")


@dataclass(frozen=True)
class TrueDrift:
    kind: str
    mode: str
    start_index: int
    start_time: datetime
    events_per_second: float | None  # of event time; None unless the scenario clock was used


@dataclass(frozen=True)
class Detection:
    drift: TrueDrift
    report: DriftReport | None

    @property
    def delay_seconds(self) -> float | None:
        if self.report is None:
            return None
        return (self.report.window_end - self.drift.start_time).total_seconds()

    @property
    def detected_by_event(self) -> int | None:
        """The index of the last event of the detecting window, on the scenario clock."""
        rate = self.drift.events_per_second
        if self.delay_seconds is None or rate is None:
            return None
        return self.drift.start_index + round(self.delay_seconds * rate)


def read_manifest(path: Path) -> list[TrueDrift]:
    """The injected drifts of a run, from the producer's ground-truth manifest."""
    if not path.exists():
        return []
    data: dict[str, Any] = json.loads(path.read_text())
    clock = data.get("clock") or {}
    rate = clock.get("nominal_rate") if clock.get("kind") == "scenario" else None
    return [
        TrueDrift(
            kind=str(drift["kind"]),
            mode=str(drift.get("mode", "")),
            start_index=int(drift["start_index"]),
            start_time=datetime.fromisoformat(drift["start_time"]),
            events_per_second=None if rate is None else float(rate),
        )
        for drift in data.get("drifts", [])
        if drift.get("start_time") and drift.get("reached", True)
    ]


def scenario_end(path: Path) -> datetime | None:
    """The event time of the run's last event, when it ran on the scenario clock."""
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    clock = data.get("clock") or {}
    sent = int((data.get("counts") or {}).get("events_sent", 0))
    if clock.get("kind") != "scenario" or not sent or not clock.get("nominal_rate"):
        return None
    last = (sent - 1) / float(clock["nominal_rate"])
    return datetime.fromisoformat(clock["epoch"]) + timedelta(seconds=last)


@dataclass(frozen=True)
class Response:
    """What the loop did about one true drift: alerted or not, and the retrain requests that
    followed it (those whose triggering window ended after it began and before the next one)."""

    detection: Detection
    alerted: bool
    requests: tuple[RetrainRequest, ...]

    @property
    def concept(self) -> bool:
        return any(word in self.detection.drift.kind for word in CONCEPT_KINDS)

    def describe(self) -> str:
        if self.requests:
            return "; ".join(f"retrain {r.request_id} ({r.reason})" for r in self.requests)
        if self.detection.report is None:
            return "-"
        return "alerted, no retrain" if self.alerted else "flagged, no retrain"


def match_responses(
    detections: list[Detection], requests: list[RetrainRequest], alerts: list[Alert]
) -> list[Response]:
    """Each true drift with its alert and the retrain requests it led to: a request belongs to
    the latest drift that began before its triggering window ended."""
    by_start = sorted(detections, key=lambda d: d.drift.start_time)
    owned: dict[int, list[RetrainRequest]] = {id(d): [] for d in detections}
    for request in requests:
        before = [d for d in by_start if d.drift.start_time < request.train_until]
        if before:
            owned[id(before[-1])].append(request)
    responses = []
    for detection in detections:
        report = detection.report
        alerted = report is not None and any(
            alert.window_id == report.window_id and alert.model_version == report.model_version
            for alert in alerts
        )
        responses.append(Response(detection, alerted, tuple(owned[id(detection)])))
    return responses


def match_detections(drifts: list[TrueDrift], reports: list[DriftReport]) -> list[Detection]:
    """For each true drift, the first window at or after its start that flags that kind."""
    ordered = sorted(reports, key=lambda r: r.window_start)
    detections = []
    for drift in drifts:
        concept = any(word in drift.kind for word in CONCEPT_KINDS)
        found = next(
            (
                report
                for report in ordered
                if report.window_end > drift.start_time
                and (report.concept_drift if concept else report.data_drift)
            ),
            None,
        )
        detections.append(Detection(drift, found))
    return detections


def print_summary(
    console: Console, state: DemoState, manifest: Path, settings: Settings, *, producer_rc: int
) -> None:
    with state.lock:
        reports = list(state.reports)
        console.rule("Centinela demo summary")
        console.print(
            f"events sent {state.sent:,} (producer exit {producer_rc}); scored {state.scored:,} "
            f"distinct events ({state.duplicates:,} duplicates removed by event_id); "
            f"dead letters {state.dead_letters:,}; windows {len(reports)}; "
            f"scoring latency p99 {_ms(state.latency_percentile(99))}"
        )
        console.print(f"average scoring throughput: {state.average_rate():,.0f} events/s")
        detections = match_detections(read_manifest(manifest), reports)
        responses = match_responses(detections, state.retrain_requests, state.alerts)
        console.print(_detections_table(responses))
        console.print(_estimate_table(accuracy_stretches(read_manifest(manifest), reports)))
        console.print(estimator_error_line(reports))
        registered = [e for e in state.model_events if e.event_type == "registered"]
        for line in recovery_lines(
            accuracy_stretches(read_manifest(manifest), reports), registered
        ):
            console.print(line)
        for line in _alerted_without_retrain(responses, settings):
            console.print(line)
        _print_retrain(console, state, settings)
    console.print(f"MLflow UI: {settings.mlflow_address} (experiments "
                  f"'{settings.monitoring_experiment}' and '{settings.training_experiment}', "
                  f"model '{settings.model_name}')")  # fmt: skip


def live_evidence_lines(settings: Settings) -> list[str]:
    """The registered challenger against the champion on the live labeled events after its
    training data, and the stream's own running comparison of the events it shadow-scored
    (what `centinela models compare` shows)."""
    from centinela.models.registry import CHALLENGER, CHAMPION
    from retrain.catalog import Catalog
    from retrain.live_evidence import (
        describe_stream_evidence,
        gather_live_evidence,
        stream_evidence,
    )

    try:
        catalog = Catalog(settings)
        champion, challenger = catalog.alias(CHAMPION), catalog.alias(CHALLENGER)
        if champion is None or challenger is None:
            return ["live evidence: no challenger to compare"]
        evidence = gather_live_evidence(settings, catalog, champion, challenger)
        streamed = stream_evidence(settings, champion, challenger)
    except Exception as error:  # the summary is printed even when the evidence cannot be read
        return [f"live evidence could not be read: {error}"]
    if streamed is None:
        return [evidence.describe(), "stream: no window compared the two yet"]
    return [evidence.describe(), describe_stream_evidence(streamed, champion, challenger)]


def html_report_lines(settings: Settings) -> list[str]:
    """Where the HTML drift reports of the monitoring runs are, one line per run."""
    from centinela.models.registry import client as mlflow_client

    try:
        client = mlflow_client(settings)
        experiment = client.get_experiment_by_name(settings.monitoring_experiment)
        runs = client.search_runs([experiment.experiment_id]) if experiment else []
        lines = []
        for run in sorted(runs, key=lambda r: r.info.start_time):
            pages = [
                a.path
                for a in client.list_artifacts(run.info.run_id, "drift_reports")
                if a.path.endswith(".html")
            ]
            if pages:
                lines.append(
                    f"HTML drift reports of run '{run.info.run_name}' ({run.info.run_id}, "
                    f"artifacts): {', '.join(sorted(pages, key=_window_of))}"
                )
    except Exception as error:  # the summary is printed even when MLflow cannot be read
        return [f"the HTML drift reports could not be listed: {error}"]
    return lines or ["no HTML drift report yet (one is written every "
                     f"{settings.report_every_windows} windows of a version)"]  # fmt: skip


def _window_of(artifact: str) -> int:
    return int(artifact.rsplit("_", 1)[-1].removesuffix(".html"))


def _detections_table(responses: list[Response]) -> Table:
    table = Table(title="true change points, their detection and the response")
    columns = ("drift", "starts at event", "event time", "detected in window", "delay", "response")
    for column in columns:
        table.add_column(column)
    for response in responses:
        d = response.detection
        window = "not detected" if d.report is None else f"{d.report.window_id}"
        if d.report is not None:
            window += f" ({d.report.window_start:%H:%M:%S}-{d.report.window_end:%H:%M:%S})"
        delay = "-" if d.delay_seconds is None else f"{d.delay_seconds:.0f} s of event time"
        table.add_row(
            d.drift.kind,
            f"{d.drift.start_index:,}",
            f"{d.drift.start_time:%H:%M:%S}",
            window,
            delay,
            response.describe(),
        )
    if not responses:
        table.add_row("(no manifest)", "-", "-", "-", "-", "-")
    return table


@dataclass(frozen=True)
class Stretch:
    """The windows between two true change points (the first: before any), with the accuracy
    estimated from their events' probabilities and the accuracy their labels realised, each
    pooled over the stretch (weighted by events, and by labeled outcomes)."""

    name: str
    windows: int
    estimated: float | None
    realised: float | None


def accuracy_stretches(drifts: list[TrueDrift], reports: list[DriftReport]) -> list[Stretch]:
    """Estimated and realised accuracy per stretch of the run between change points: a window
    belongs to the last change that began before the window's end (the covariate jump of the
    ``mixed`` scenario leaves the estimate about where it was; the concept change is seen by
    the realised accuracy only)."""
    changes = sorted(drifts, key=lambda d: d.start_time)
    names = ["before any change"] + [f"{d.kind} from event {d.start_index:,}" for d in changes]
    members: list[list[DriftReport]] = [[] for _ in names]
    for report in reports:
        begun = sum(1 for d in changes if d.start_time < report.window_end)
        members[begun].append(report)
    stretches = []
    for name, windows in zip(names, members, strict=True):
        estimated = [
            (r.estimated_performance["accuracy"], r.n_events)
            for r in windows
            if "accuracy" in r.estimated_performance
        ]
        realised = [
            (r.performance["accuracy"], r.n_labeled) for r in windows if "accuracy" in r.performance
        ]
        stretches.append(Stretch(name, len(windows), _pooled(estimated), _pooled(realised)))
    return stretches


def _pooled(values: list[tuple[float, int]]) -> float | None:
    weight = sum(n for _, n in values)
    return None if weight == 0 else sum(v * n for v, n in values) / weight


def estimator_error_line(reports: list[DriftReport]) -> str:
    """How far the estimate was from the truth where labels came (its error per window)."""
    errors = [r.estimation_error["accuracy"] for r in reports if "accuracy" in r.estimation_error]
    if not errors:
        return "estimated accuracy: no window had labels to check it against"
    mean = sum(errors) / len(errors)
    worst = max(errors, key=abs)
    absolute = sum(abs(e) for e in errors) / len(errors)
    return (
        f"estimated minus realised accuracy on the labeled outcomes of {len(errors)} windows: "
        f"mean {mean:+.4f}, mean absolute {absolute:.4f}, largest {worst:+.4f}"
    )


@dataclass(frozen=True)
class Recovery:
    """How much of the accuracy a change cost a challenger wins back: the realised accuracy
    before any change, and both models on the challenger's hold-out (the most recent labeled
    examples of its range, after the change)."""

    before: float
    champion: float
    challenger: float

    @property
    def share(self) -> float | None:
        """Share of the loss recovered: 1 is all of it, 0 none, negative worse than the champion.

        >>> round(Recovery(before=0.9, champion=0.65, challenger=0.85).share, 2)
        0.8
        """
        lost = self.before - self.champion
        return None if lost <= 0 else (self.challenger - self.champion) / lost


def recovery_lines(stretches: list[Stretch], registered: list[ModelEvent]) -> list[str]:
    """One line per challenger: accuracy before the changes, the champion's after, the
    challenger's, and the share of the loss recovered."""
    before = stretches[0].realised if stretches else None
    after = [s.realised for s in stretches[1:] if s.realised is not None]
    lines = []
    for event in registered:
        metrics = event.metrics
        if before is None or not {"champion_accuracy", "challenger_accuracy"} <= set(metrics):
            continue
        result = Recovery(before, metrics["champion_accuracy"], metrics["challenger_accuracy"])
        share = "-" if result.share is None else f"{result.share:.0%}"
        realised = f"; realised after the changes {min(after):.3f} at worst" if after else ""
        lines.append(
            f"accuracy before any change {result.before:.3f} (realised){realised}; on the "
            f"{metrics.get('holdout_rows', 0):,.0f}-row hold-out after the change: champion "
            f"v{event.previous_version} {result.champion:.3f}, challenger v{event.version} "
            f"{result.challenger:.3f}: {share} of the accuracy lost recovered"
        )
    return lines


def _estimate_table(stretches: list[Stretch]) -> Table:
    table = Table(title="accuracy estimated before labels and realised, between change points")
    for column in ("stretch", "windows", "estimated accuracy", "realised accuracy"):
        table.add_column(column)
    for stretch in stretches:
        table.add_row(
            stretch.name,
            str(stretch.windows),
            _fraction(stretch.estimated),
            _fraction(stretch.realised),
        )
    return table


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _alerted_without_retrain(responses: list[Response], settings: Settings) -> list[str]:
    """One line per input change that was alerted but asked for no challenger, and why."""
    lines = []
    for response in responses:
        if response.concept or response.requests or response.detection.report is None:
            continue
        drift = response.detection.drift
        why = (
            "data drift alone asks for none, a challenger needs a realised or estimated "
            "performance drop or concept drift (CENTINELA_POLICY_RETRAIN_ON_DATA_DRIFT is off)"
            if not settings.policy_retrain_on_data_drift
            else "the policy's data-drift trigger did not fire (too few drifted features or "
            "windows, a cooldown, or too few labels)"
        )
        lines.append(
            f"the {drift.kind} change at event {drift.start_index:,} was "
            f"{'alerted' if response.alerted else 'flagged'} as data drift in window "
            f"{response.detection.report.window_id} without a retrain request: {why}"
        )
    return lines


def _print_retrain(console: Console, state: DemoState, settings: Settings) -> None:
    for request in state.retrain_requests:
        supersedes = request.evidence.get("supersedes")
        console.print(
            f"retrain request {request.request_id}: {request.reason}, champion "
            f"v{request.champion_version}, data {request.train_from:%H:%M:%S}-"
            f"{request.train_until:%H:%M:%S}"
            + (f", superseding {supersedes}" if supersedes else "")
        )
    registered = [e for e in state.model_events if e.event_type == "registered"]
    for event in state.model_events:
        if event.event_type == "failed":
            console.print(f"[red]retrain failed[/red]: {event.reason}")
    for event in registered:
        metrics = ", ".join(f"{k} {v:+.4f}" if "delta" in k else f"{k} {v:.4f}"
                            for k, v in sorted(event.metrics.items()))  # fmt: skip
        console.print(
            f"challenger v{event.version} registered "
            f"(champion v{event.previous_version}; {event.reason}): {metrics}"
        )
        console.print(
            f"promote it with: [b]centinela models promote {event.version} "
            f'--reason "reviewed the demo comparison"[/b]  (or `centinela models compare`)'
        )
    if not state.retrain_requests:
        console.print("no retrain request was raised")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"
