"""Detection delay and false alarms: Centinela's window tests vs river's detectors alone.

For each scenario and seed, the first champion is trained on pre-drift data (as `centinela
bootstrap` does) and scores the scenario's events; windows of 2,000 events go through the same
code the stream runs (WindowSummary -> compute_drift -> ConceptMonitor -> RetrainPolicy).
River's ADWIN, DDM, Page-Hinkley and KSWIN (defaults) read the same 0/1 error stream event by
event. Labels are taken as all present, so delays count labeled events.

    .venv/bin/python bench/bench_detection.py [--stable-events 1000000] [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from river import drift
from river.drift import binary

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import BenchResult, record  # noqa: E402
from centinela.contract.settings import Settings  # noqa: E402
from centinela.drift import (  # noqa: E402
    ConceptMonitor,
    DriftConfig,
    PolicyConfig,
    RetrainPolicy,
    WindowSummary,
    compute_drift,
)
from centinela.models.publishing import fit_and_profile  # noqa: E402
from centinela.models.trainers import DEFAULT_TRAINER  # noqa: E402
from producers.block import Block  # noqa: E402
from producers.catalogue import EVENTS_PER_WINDOW, get_scenario  # noqa: E402
from producers.scenario import ScenarioStream, pre_drift_frame  # noqa: E402
from stream.reporting import outcome_errors  # noqa: E402

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
RIVER = {
    "river ADWIN": lambda: drift.ADWIN(),
    "river DDM": lambda: binary.DDM(),
    "river PageHinkley": lambda: drift.PageHinkley(),
    "river KSWIN": lambda: drift.KSWIN(seed=1),
}


@dataclass
class Outcome:
    """Where one detector fired on one run (event indices), and the retrain requests raised."""

    detections: list[int]
    requests: list[int] = field(default_factory=list)

    def delay(self, change: int | None) -> int | None:
        after = [d for d in self.detections if change is not None and d >= change]
        return None if not after else after[0] - (change or 0)

    def false_alarms(self, change: int | None) -> int:
        return sum(1 for d in self.detections if change is None or d < change)


def score_run(scenario_name: str, seed: int, events: int, settings: Settings) -> dict[str, Outcome]:
    scenario = get_scenario(scenario_name)
    model, profile = champion(scenario_name, seed)
    stream = ScenarioStream(scenario, seed)
    blocks: list[Block] = []
    while sum(b.n for b in blocks) < events:
        block = stream.next_block()
        if block is None:
            break
        blocks.append(block)
    run = Block.concat(blocks).slice(0, events)
    features = pd.DataFrame({name: run.features[name] for name in stream.feature_names})
    predictions = model.predict(features)
    probabilities = model.predict_proba(features)
    errors = (predictions != run.labels).astype(int)
    concept = "concept" in {d.kind for d in scenario.drifts}
    results = {
        "centinela windows": ours(
            features, predictions, probabilities, run.labels, profile, settings, concept=concept
        )
    }
    for name, make in RIVER.items():
        detector = make()
        fired = []
        for index, error in enumerate(errors):
            detector.update(int(error))
            if detector.drift_detected:
                fired.append(index)
        results[name] = Outcome(fired)
    return results


def champion(scenario_name: str, seed: int) -> tuple[Any, Any]:
    """The first champion and its profile, trained on pre-drift data as bootstrap does."""
    frame, labels = pre_drift_frame(get_scenario(scenario_name), 10_000, seed)
    split = len(frame) * 3 // 4
    trained = fit_and_profile(
        DEFAULT_TRAINER, {}, frame.iloc[:split], labels[:split],
        reference=(frame.iloc[split:], labels[split:]),
    )  # fmt: skip
    return trained.model, trained.profile


def ours(
    features: pd.DataFrame,
    predictions: np.ndarray,
    probabilities: np.ndarray,
    labels: np.ndarray,
    profile: Any,
    settings: Settings,
    *,
    concept: bool,
) -> Outcome:
    """The stream's window path (summary, tests, sequential detector, policy).

    Data drift is detected at the end of the window that flags it; concept drift where the
    sequential detector fired in the error stream (or at the window end for the windowed test).
    """
    monitor = ConceptMonitor(settings.concept_detector)
    policy = RetrainPolicy(PolicyConfig.from_settings(settings))
    drift_config = DriftConfig.from_settings(settings)
    outcome = Outcome([])
    for window_id, start in enumerate(range(0, len(features), EVENTS_PER_WINDOW)):
        end = min(start + EVENTS_PER_WINDOW, len(features))
        ids = [f"e{i}" for i in range(start, end)]
        window_start = EPOCH + timedelta(seconds=settings.window_seconds * window_id)
        summary = WindowSummary.empty(
            profile, model_version="1", window_id=window_id, window_start=window_start,
            window_end=window_start + timedelta(seconds=settings.window_seconds),
            exact_cap=settings.window_exact_cap,
        )  # fmt: skip
        summary.add_events(ids, features.iloc[start:end], predictions[start:end])
        summary.add_outcomes(
            ids, predictions[start:end], labels[start:end], probabilities[start:end],
            [0.0] * (end - start),
        )  # fmt: skip
        report = compute_drift(summary, profile, drift_config, model_name="bench")
        seen_before = len(monitor.detections)
        if monitor.update(outcome_errors(summary)):  # as stream/reporting.py records it
            performance = {**report.performance, "sequential_drift": 1.0}
            report = report.model_copy(update={"concept_drift": True, "performance": performance})
        if concept and len(monitor.detections) > seen_before:
            outcome.detections.append(start + monitor.detections[seen_before] % EVENTS_PER_WINDOW)
        elif report.concept_drift or report.data_drift:
            outcome.detections.append(end)
        if policy.observe(report, labeled_from=window_start) is not None:
            outcome.requests.append(end)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--drift-events", type=int, default=40_000)
    parser.add_argument("--stable-events", type=int, default=1_000_000)
    args = parser.parse_args()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    runs = [
        ("covariate-sudden", args.drift_events, range(1, args.seeds + 1)),
        ("concept-sudden", args.drift_events, range(1, args.seeds + 1)),
        ("stable", args.stable_events, range(1, 2)),
    ]
    print(f"{'scenario':<17} {'detector':<18} {'mean delay (events)':>20} {'missed':>7} "
          f"{'false alarms/run':>17} {'retrain requests/run':>21}")  # fmt: skip
    summary: dict[str, dict[str, float | None]] = {}
    for name, events, seeds in runs:
        change = get_scenario(name).first_change
        per_detector: dict[str, list[Outcome]] = {}
        for seed in seeds:
            for detector, outcome in score_run(name, seed, events, settings).items():
                per_detector.setdefault(detector, []).append(outcome)
        for detector, outcomes in per_detector.items():
            delays = [o.delay(change) for o in outcomes]
            found = [d for d in delays if d is not None]
            mean_delay = float(np.mean(found)) if found else None
            false_alarms = float(np.mean([o.false_alarms(change) for o in outcomes]))
            requests = (
                f"{np.mean([len(o.requests) for o in outcomes]):.1f}"
                if detector == "centinela windows" else "-"
            )  # fmt: skip
            delay_text = "-" if mean_delay is None else f"{mean_delay:,.0f}"
            missed = "-" if change is None else str(len(delays) - len(found))
            print(f"{name:<17} {detector:<18} {delay_text:>20} {missed:>7} "
                  f"{false_alarms:>17.2f} {requests:>21}")  # fmt: skip
            summary.setdefault(name, {})[detector] = mean_delay
            if detector == "centinela windows":
                summary[name]["false_alarms"] = false_alarms
                summary[name]["requests"] = float(np.mean([len(o.requests) for o in outcomes]))
    _record(summary, args)


def _record(summary: dict[str, dict[str, float | None]], args: argparse.Namespace) -> None:
    command = ".venv/bin/python bench/bench_detection.py"
    covariate = summary["covariate-sudden"]["centinela windows"]
    concept = summary["concept-sudden"]["centinela windows"]
    adwin = summary["concept-sudden"]["river ADWIN"]
    stable_requests = summary["stable"]["requests"] or 0.0
    record(BenchResult(
        key="detection_covariate",
        what="detection, sudden covariate shift (mean over seeds)",
        figure="missed" if covariate is None else f"{covariate:,.0f} events after the change",
        baseline="window = 2,000 events",
        ratio="-" if covariate is None else f"{covariate / EVENTS_PER_WINDOW:.2f} windows",
        target="within 1 window of the change point",
        met=covariate is not None and covariate <= EVENTS_PER_WINDOW,
        command=command,
    ))  # fmt: skip
    record(BenchResult(
        key="detection_concept",
        what="detection, concept change (labeled events after the change, mean over seeds)",
        figure="missed" if concept is None else f"{concept:,.0f} labeled events",
        baseline="river ADWIN alone: " + ("missed" if adwin is None else f"{adwin:,.0f}"),
        ratio="-" if concept is None or not adwin else f"{concept / adwin:.2f}x ADWIN's delay",
        target="within 1,000 labeled events",
        met=concept is not None and concept <= 1_000,
        command=command,
    ))  # fmt: skip
    record(BenchResult(
        key="false_alarms",
        what=f"false alarms, stable stream of {args.stable_events:,} events",
        figure=f"{stable_requests:.0f} retrain requests, "
        f"{summary['stable']['false_alarms']:.0f} flagged windows",
        baseline="river ADWIN alone: see bench_detection table",
        ratio="-",
        target="<= 1 retrain request per 1,000,000 events",
        met=stable_requests <= args.stable_events / 1_000_000,
        command=command + f" --stable-events {args.stable_events}",
    ))  # fmt: skip


if __name__ == "__main__":
    main()
