"""One detector table that cannot flatter itself: delay, misses, false alarms, run length, F1.

Every detector reads the same runs. Each run is a catalogue scenario (``centinela produce
--list``) with a discrete change point, or a replayed real dataset with an injected one, for
each seed. The first champion is trained on pre-drift data (as ``centinela bootstrap`` does)
and scores the run's events; all labels are taken as present, so event counts are labeled
events. The detectors:

- **centinela windows**: windows of 2,000 events through the stream's own code (WindowSummary
  -> compute_drift -> ConceptMonitor with the stream's parameters); it fires when a window is
  flagged for data or concept drift, at the window's end (or, for a concept change, where the
  sequential detector fired inside the window). Every flagged window counts, so a drift that
  persists keeps firing and each window after the first match is a false positive.
- **centinela windows, onsets only**: the same, counting a flagged window only when the window
  before it was not flagged (the start of an episode of flagged windows).
- **centinela retrain trigger**: the RetrainPolicy fed those reports; it fires on a request.
- **river ADWIN, DDM, PageHinkley, KSWIN** (river's defaults) on the 0/1 error stream, event by
  event.
- **always fire** (at the end of every window) and **never fire**: the dummies that keep the
  table honest. Always fire gets perfect recall and poor precision; never fire zero recall.

Scoring. A detection is a position in the run (events processed when it fired). Against each
true change point ``c``, the first detection ``p`` with ``c < p <= c + tolerance`` is a true
positive; each change is matched at most once; every other detection, whether before or after
a change, is a false positive; an unmatched change is a false negative. Precision, recall and
F1 sum TP/FP/FN over all runs. The delay of a change is to the first detection after it and
before the next change (or the end of the run); none there is a missed drift. False alarms and
run length (events per false alarm) are counted on the no-drift runs only.

Runs (defaults): every catalogue scenario with a discrete change (read from
``list_scenarios()`` at run time: covariate-sudden, covariate-gradual, concept-sudden,
prior-shift, mixed, correlation-shift, river-agrawal-concept, river-sea-concept when this was
written), each cut ``--after`` events after its last drift reaches full strength; the
scenarios whose source drifts incrementally from event 0 (river-hyperplane, river-rbf-drift)
have no change point to score and are left out. Real data: river's bundled Shuttle dataset
(49,097 rows of NASA shuttle telemetry, UCI Statlog; shipped inside river's wheel, no
download), shuffled per seed; its first 9,097 rows train the champion and the next
``--replay-events`` are replayed through ReplaySource with an injected change at event
20,000: a 1-standard-deviation covariate shift of f1, f5 and f9 (labels kept), or a gradual
label rotation over 6,000 events. No real dataset with a *known, real* change point (Elec2,
INSECTS, Airlines) is available offline (river downloads them), so the change points in the
real data are injected, and shuffling removes whatever order the file had. No-drift runs:
the ``stable`` scenario (``--stable-events`` per seed) and the shuffled Shuttle replay without
any injected change. Run length on these ~200,000 events is a coarse figure;
bench_false_alarms.py measures Centinela's triggers over 100,000,000.

    .venv/bin/python bench/bench_detectors.py [--seeds 3] [--stable-events 40000]
        [--after 6000] [--tolerance 4000] [--jobs 2]

KSWIN runs a two-sample KS test on every event (~0.4 ms each) and takes most of the time.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_detection import RIVER  # noqa: E402
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
from producers.catalogue import EVENTS_PER_WINDOW, list_scenarios  # noqa: E402
from producers.drifts import DriftSpec  # noqa: E402
from producers.scenario import Scenario, ScenarioStream, pre_drift_frame  # noqa: E402
from producers.sources import ColumnMapping, SourceSpec, build_source  # noqa: E402
from stream.reporting import outcome_errors  # noqa: E402

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
CENTINELA_WINDOWS = "centinela windows"
CENTINELA_ONSETS = "centinela windows, onsets only"
CENTINELA_TRIGGER = "centinela retrain trigger"
ALWAYS, NEVER = "always fire", "never fire"
DETECTORS = (CENTINELA_WINDOWS, CENTINELA_ONSETS, CENTINELA_TRIGGER, *RIVER, ALWAYS, NEVER)
REPLAY_TRAIN_ROWS = 9_097
REPLAY_CHANGE = 20_000
REPLAY_DRIFTS: dict[str, tuple[DriftSpec, ...]] = {
    "replay-shuttle-covariate": (
        DriftSpec("covariate", REPLAY_CHANGE, features=("f1", "f5", "f9"), shift=1.0),
    ),
    "replay-shuttle-concept": (DriftSpec("concept", REPLAY_CHANGE, 6_000, concept=1),),
    "replay-shuttle-none": (),
}


@dataclass(frozen=True)
class Job:
    scenario: str
    seed: int
    events: int


@dataclass
class Run:
    """Where each detector fired on one run, with the run's true change points."""

    scenario: str
    seed: int
    events: int
    changes: list[int]
    fired: dict[str, list[int]]


def change_points(scenario: Scenario, seed: int) -> list[int] | None:
    """Discrete change points (injected and intrinsic); None if the source drifts from 0 on."""
    points = [d.start for d in scenario.drifts]
    for intrinsic in build_source(scenario.source, seed).intrinsic_drifts():
        if intrinsic.end_index is None:
            return None
        points.append(intrinsic.start_index)
    return sorted(set(points))


def shuttle_files(seed: int, folder: Path) -> tuple[Path, Path]:
    """The real Shuttle rows shuffled by ``seed``: a training file and a replay file."""
    from river import datasets  # Shuttle ships inside river's wheel as a CSV (no download)

    frame = pd.read_csv(datasets.Shuttle().path)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    train, events = folder / f"shuttle-train-{seed}.csv", folder / f"shuttle-events-{seed}.csv"
    frame.iloc[:REPLAY_TRAIN_ROWS].to_csv(train, index=False)
    frame.iloc[REPLAY_TRAIN_ROWS:].to_csv(events, index=False)
    return train, events


def replay_scenario(name: str, path: Path) -> Scenario:
    source = SourceSpec("replay", mapping=ColumnMapping(path=str(path), label="anomaly"))
    return Scenario(name, f"Shuttle replay ({name})", source, REPLAY_DRIFTS[name])


def run_job(job: Job) -> Run:
    logging.disable(logging.WARNING)  # the policy logs every request it raises
    settings = Settings(_env_file=None)
    with tempfile.TemporaryDirectory() as folder:
        if job.scenario in REPLAY_DRIFTS:
            train_file, events_file = shuttle_files(job.seed, Path(folder))
            train_scenario = replay_scenario("replay-shuttle-none", train_file)
            scenario = replay_scenario(job.scenario, events_file)
        else:
            scenario = next(s for s in list_scenarios() if s.name == job.scenario)
            train_scenario = scenario
        frame, labels = pre_drift_frame(train_scenario, 10_000, job.seed)
        split = len(frame) * 3 // 4
        trained = fit_and_profile(
            DEFAULT_TRAINER, {}, frame.iloc[:split], labels[:split],
            reference=(frame.iloc[split:], labels[split:]),
        )  # fmt: skip
        stream = ScenarioStream(scenario, job.seed)
        blocks: list[Block] = []
        while sum(b.n for b in blocks) < job.events:
            block = stream.next_block()
            if block is None:
                break
            blocks.append(block)
        run = Block.concat(blocks).slice(0, job.events)
        changes = change_points(scenario, job.seed) or []
    features = pd.DataFrame({name: run.features[name] for name in stream.feature_names})
    model = trained.model
    predictions = model.predict(features)
    probabilities = model.predict_proba(features)
    errors = (predictions != run.labels).astype(int)
    n = len(features)
    fired = window_path(features, predictions, probabilities, run.labels, trained.profile, settings)
    for name, make in RIVER.items():
        detector: Any = make()
        positions = []
        for index, error in enumerate(errors):
            detector.update(int(error))
            if detector.drift_detected:
                positions.append(index + 1)
        fired[name] = positions
    fired[ALWAYS] = list(range(EVENTS_PER_WINDOW, n + 1, EVENTS_PER_WINDOW))
    fired[NEVER] = []
    return Run(job.scenario, job.seed, n, [c for c in changes if c < n], fired)


def window_path(
    features: pd.DataFrame,
    predictions: np.ndarray,
    probabilities: np.ndarray,
    labels: np.ndarray,
    profile: Any,
    settings: Settings,
) -> dict[str, list[int]]:
    """The stream's window path: summary, tests, sequential detector (with the stream's
    parameters, as stream/reporting.py builds it), retrain policy."""
    drift_config = DriftConfig.from_settings(settings)
    detector = settings.concept_detector
    monitor = ConceptMonitor(detector, **drift_config.detector_params(detector))
    policy = RetrainPolicy(PolicyConfig.from_settings(settings))
    windows: list[int] = []
    requests: list[int] = []
    for window_id, start in enumerate(range(0, len(features), EVENTS_PER_WINDOW)):
        end = min(start + EVENTS_PER_WINDOW, len(features))
        ids = [f"e{i}" for i in range(start, end)]
        window_start = EPOCH + timedelta(seconds=settings.window_seconds * window_id)
        summary = WindowSummary.empty(
            profile, model_version="1", window_id=window_id, window_start=window_start,
            window_end=window_start + timedelta(seconds=settings.window_seconds),
            exact_cap=settings.window_exact_cap,
        )  # fmt: skip
        predicted: Any = predictions[start:end]  # arrays, as the stream's columns
        actual: Any = labels[start:end]
        summary.add_events(ids, features.iloc[start:end], predicted)
        summary.add_outcomes(
            ids, predicted, actual, probabilities[start:end], [0.0] * (end - start)
        )
        report = compute_drift(summary, profile, drift_config, model_name="bench")
        seen_before = len(monitor.detections)
        if monitor.update(outcome_errors(summary)):  # as stream/reporting.py records it
            performance = {**report.performance, "sequential_drift": 1.0}
            report = report.model_copy(update={"concept_drift": True, "performance": performance})
        if len(monitor.detections) > seen_before:  # every label present: error i = event i
            windows.append(monitor.detections[seen_before] + 1)
        elif report.concept_drift or report.data_drift:
            windows.append(end)
        if policy.observe(report, labeled_from=window_start) is not None:
            requests.append(end)
    flagged = {(p - 1) // EVENTS_PER_WINDOW for p in windows}
    onsets = [p for p in windows if (p - 1) // EVENTS_PER_WINDOW - 1 not in flagged]
    return {CENTINELA_WINDOWS: windows, CENTINELA_ONSETS: onsets, CENTINELA_TRIGGER: requests}


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    delays: list[int] | None = None
    missed: int = 0
    changes: int = 0
    quiet_events: int = 0
    quiet_alarms: int = 0

    def add(self, run: Run, fired: Sequence[int], tolerance: int) -> None:
        if self.delays is None:
            self.delays = []
        if not run.changes:
            self.quiet_events += run.events
            self.quiet_alarms += len(fired)
            self.fp += len(fired)
            return
        matched: set[int] = set()
        bounds = [*run.changes[1:], run.events]
        for change, bound in zip(run.changes, bounds, strict=True):
            self.changes += 1
            hit = next((i for i, p in enumerate(fired) if change < p <= change + tolerance
                        and i not in matched), None)  # fmt: skip
            if hit is None:
                self.fn += 1
            else:
                matched.add(hit)
                self.tp += 1
            after = [p for p in fired if change < p <= bound]
            if after:
                self.delays.append(after[0] - change)
            else:
                self.missed += 1
        self.fp += len(fired) - len(matched)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None if r is None else 0.0
        return 2 * p * r / (p + r) if p + r else 0.0


def jobs(args: argparse.Namespace) -> list[Job]:
    out = []
    for scenario in list_scenarios():
        changes = change_points(scenario, 1)
        if scenario.name == "stable":
            events = args.stable_events
        elif not changes:  # incremental drift from event 0: no change point to score
            continue
        else:  # cut ``--after`` events after the last drift reaches full strength
            last = max([d.end for d in scenario.drifts] + changes)
            events = min(scenario.default_events, last + args.after)
        out += [Job(scenario.name, seed, events) for seed in range(1, args.seeds + 1)]
    for name, drifts in REPLAY_DRIFTS.items():
        last = max((d.end for d in drifts), default=REPLAY_CHANGE)
        events = min(args.replay_events, last + args.after)
        out += [Job(name, seed, events) for seed in range(1, args.seeds + 1)]
    return out


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(scores: dict[str, Score], tolerance: int) -> str:
    lines = [
        "| detector | mean delay (labeled events) | missed drifts | false alarms (no drift) "
        f"| run length (events per false alarm) | precision | recall | F1 (tolerance "
        f"{tolerance:,} events) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in DETECTORS:
        s = scores[name]
        delay = f"{np.mean(s.delays):,.0f}" if s.delays else "-"
        run_length = (
            f"{s.quiet_events / s.quiet_alarms:,.0f}" if s.quiet_alarms
            else f"> {s.quiet_events:,} (none)"
        )  # fmt: skip
        lines.append(
            f"| {name} | {delay} | {s.missed} / {s.changes} | {s.quiet_alarms} "
            f"| {run_length} | {fmt(s.precision)} | {fmt(s.recall)} | {fmt(s.f1)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--stable-events", type=int, default=40_000)
    parser.add_argument("--replay-events", type=int, default=40_000)
    parser.add_argument(
        "--after", type=int, default=6_000, help="events kept after the last change"
    )
    parser.add_argument("--tolerance", type=int, default=2 * EVENTS_PER_WINDOW)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="scenario names (for a quick run)")
    args = parser.parse_args()
    todo = [j for j in jobs(args) if args.only is None or j.scenario in args.only]
    todo.sort(key=lambda j: -j.events)  # longest first, for the pool
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(run_job, todo))
    runs.sort(key=lambda r: (r.scenario, r.seed))
    scores = {name: Score() for name in DETECTORS}
    print(f"{'scenario':<26} {'seed':>4} {'events':>8} changes  detections per detector")
    for run in runs:
        for name in DETECTORS:
            scores[name].add(run, run.fired[name], args.tolerance)
        counts = " ".join(
            f"{'onsets' if name == CENTINELA_ONSETS else name.split()[-1]}={len(run.fired[name])}"
            for name in DETECTORS
            if name not in (ALWAYS, NEVER)
        )
        print(f"{run.scenario:<26} {run.seed:>4} {run.events:>8} {run.changes} {counts}")
    drift_runs = sum(1 for r in runs if r.changes)
    quiet = sum(r.events for r in runs if not r.changes)
    print(
        f"\n{len(runs)} runs: {drift_runs} with {scores[NEVER].changes} change points, "
        f"{len(runs) - drift_runs} without drift ({quiet:,} events); seeds 1..{args.seeds}; "
        f"tolerance {args.tolerance:,} events\n"
    )
    rendered = table(scores, args.tolerance)
    print(rendered)
    _record(scores, args)


def _record(scores: dict[str, Score], args: argparse.Namespace) -> None:
    ours, always = scores[CENTINELA_TRIGGER], scores[ALWAYS]
    record(BenchResult(
        key="detectors_f1",
        what=f"retrain trigger F1 within {args.tolerance:,} events, catalogue + Shuttle replay",
        figure=f"F1 {fmt(ours.f1)} (precision {fmt(ours.precision)}, recall {fmt(ours.recall)})",
        baseline=f"always fire: F1 {fmt(always.f1)}; never fire: F1 {fmt(scores[NEVER].f1)}",
        ratio="-",
        target="above both dummies",
        met=ours.f1 is not None and always.f1 is not None and ours.f1 > always.f1,
        command=".venv/bin/python bench/bench_detectors.py",
        notes="full table in docs/benchmarks.md, section 'Detector benchmark'",
    ))  # fmt: skip


if __name__ == "__main__":
    main()
