"""False retrain requests on long stable streams: the measured run length beside the budget.

``CENTINELA_FALSE_ALARM_BUDGET_EVENTS`` (default 10,000,000) is the number of labeled events
expected between two false retrain requests when nothing drifts. This bench feeds long stable
streams, window after window, through what decides a retrain request in the stream, with the
defaults: the windowed performance-drop test (Fisher exact against the profile's baseline
counts, at :meth:`DriftConfig.concept_level`), the sequential detector (river ADWIN on the
error stream, as :class:`~centinela.drift.concept.ConceptMonitor` runs it) and the
:class:`~centinela.drift.policy.RetrainPolicy` (episodes, cooldown on event time). Data drift
raises no request with the defaults, and windows of a stable stream carry no data drift here.

Beside it, in the same run on the same errors, the test at the fixed level it had before the
budget (``CENTINELA_CONCEPT_ALPHA`` = 0.001 per window). The run length is labeled events per
false request, with an exact 95% Poisson interval on the count (Garwood).

Each window: 2,000 labels (20 s windows at 100 labels/s), true accuracy 0.85, a baseline of
``--baseline-rows`` validation rows drawn from the same accuracy (one per seed, as one model
has one profile). Pure computation (numpy, scipy, river), no Kafka, no MLflow.

    .venv/bin/python bench/bench_false_alarms.py [--events 10000000] [--seeds 3]

With ``--alerts``, false *alerts* per signal instead (data drift, prediction drift, the
multivariate test, the estimated-performance drop, concept drift), every window through the
stream's whole window path on real features (``bench/false_alerts.py``); slower (~40 ms a
window), so ``--jobs`` runs seeds in parallel processes:

    .venv/bin/python bench/bench_false_alarms.py --alerts --events 10000000 --seeds 4 --jobs 2
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench` when run as a script

from bench.results import BenchResult, record
from centinela.contract.records import DriftReport
from centinela.drift.concept import ConceptMonitor
from centinela.drift.config import DriftConfig, PolicyConfig
from centinela.drift.performance import error_rate_vs_baseline_pvalue
from centinela.drift.policy import RetrainPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(seconds=20)


def _report(window_id: int, labels: int, drop: bool, sequential: bool) -> DriftReport:
    performance = {"performance_drop": float(drop)}
    if sequential:
        performance["sequential_drift"] = 1.0
    return DriftReport(
        model_name="bench",
        model_version="1",
        window_id=window_id,
        window_start=T0 + window_id * WINDOW,
        window_end=T0 + (window_id + 1) * WINDOW,
        n_events=labels,
        n_labeled=labels,
        performance=performance,
        concept_drift=drop or sequential,
    )


def run_seed(seed: int, args: argparse.Namespace) -> dict[str, int]:
    """Requests under the budgeted level and under the old fixed level, on one stream."""
    rng = np.random.default_rng(seed)
    error = 1.0 - args.accuracy
    baseline_errors = int(rng.binomial(args.baseline_rows, error))
    config = DriftConfig()
    level = config.concept_level(args.window_labels)
    budgeted = RetrainPolicy(PolicyConfig())
    fixed = RetrainPolicy(PolicyConfig())
    detector = PolicyConfig().concept_detector
    monitor = ConceptMonitor(detector, **config.detector_params(detector))
    counts = {"budgeted": 0, "fixed": 0, "drop_windows": 0, "fixed_drop_windows": 0, "adwin": 0}
    for window_id in range(args.events // args.window_labels):
        errors = rng.random(args.window_labels) < error
        p_value = error_rate_vs_baseline_pvalue(
            errors=int(errors.sum()),
            n=args.window_labels,
            baseline_errors=baseline_errors,
            baseline_n=args.baseline_rows,
        )
        sequential = monitor.update(errors.astype(int).tolist())
        counts["adwin"] += int(sequential)
        for name, policy, alpha in (("budgeted", budgeted, level), ("fixed", fixed, 0.001)):
            drop = p_value < alpha
            counts["drop_windows" if name == "budgeted" else "fixed_drop_windows"] += int(drop)
            report = _report(window_id, args.window_labels, drop, sequential)
            if policy.observe(report, labeled_from=report.window_start - 100 * WINDOW):
                counts[name] += 1
    return counts


def garwood(count: int) -> tuple[float, float]:
    """Exact 95% interval of a Poisson count."""
    low = 0.0 if count == 0 else stats.chi2.ppf(0.025, 2 * count) / 2
    return low, stats.chi2.ppf(0.975, 2 * count + 2) / 2


def run_length(events: int, count: int) -> str:
    low, high = garwood(count)
    point = f"{events / count:,.0f}" if count else "more than all"
    longest = f"{events / low:,.0f}" if low else "unbounded"
    return f"{point} events per false request (95% CI {events / high:,.0f} to {longest})"


def alerts_table(totals: dict[str, int], events: int, config: DriftConfig) -> str:
    from bench.false_alerts import SIGNALS, nominal

    levels = nominal(config, n_features=20)
    windows = totals["windows"]
    lines = [
        "| signal | false alerts | share of windows | events per false alert (95% CI) "
        "| nominal level |",
        "|---|---:|---:|---|---|",
    ]
    for signal in SIGNALS:
        count = totals[signal]
        per = run_length(events, count).replace(" events per false request", "")
        lines.append(f"| {signal} | {count} | {count / windows:.3%} | {per} | {levels[signal]} |")
    return "\n".join(lines)


def measure_alerts(args: argparse.Namespace) -> None:
    from bench.false_alerts import SIGNALS, run_seed

    started = time.perf_counter()
    totals: dict[str, int] = {}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_seed, seed, args.events) for seed in range(args.seeds)]
        for seed, future in enumerate(futures):
            counts = future.result()
            print(f"seed {seed}: {counts}", flush=True)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
    events = args.events * args.seeds
    config = DriftConfig()
    print(f"\n{events:,} events ({totals['windows']:,} windows of 2,000, all labeled), "
          f"{args.seeds} seeds, {time.perf_counter() - started:.0f} s")  # fmt: skip
    print(alerts_table(totals, events, config))
    print(f"performance-drop windows {totals['performance_drop']}, ADWIN detections "
          f"{totals['adwin']}; budget setting {config.false_alarm_budget_events:,.0f} labeled "
          "events per false retrain request")  # fmt: skip
    if args.no_record:
        return
    figure = ", ".join(f"{s} {totals[s]}" for s in SIGNALS)
    record(
        BenchResult(
            key="false_alerts",
            what=f"false alerts per signal, stable streams of {events:,} events "
            f"({args.seeds} seeds), the stream's whole window path",
            figure=figure,
            baseline="each signal's nominal per-window level (docs/benchmarks.md)",
            ratio="-",
            target="each signal at or below its nominal level",
            met=None,
            command=f".venv/bin/python bench/bench_false_alarms.py --alerts --events "
            f"{args.events} --seeds {args.seeds} --jobs {args.jobs}",
            notes="counts; the per-signal table with intervals is in docs/benchmarks.md",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="labeled events per seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--window-labels", type=int, default=2_000)
    parser.add_argument("--baseline-rows", type=int, default=10_000)
    parser.add_argument("--accuracy", type=float, default=0.85)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--alerts", action="store_true", help="false alerts per signal")
    parser.add_argument("--jobs", type=int, default=1, help="processes (with --alerts)")
    args = parser.parse_args()
    if args.alerts:
        measure_alerts(args)
        return
    started = time.perf_counter()
    totals: dict[str, int] = {}
    for seed in range(args.seeds):
        counts = run_seed(seed, args)
        print(f"seed {seed}: {counts}", flush=True)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    events = args.events * args.seeds
    budget = DriftConfig().false_alarm_budget_events
    ours, before = totals["budgeted"], totals["fixed"]
    met = ours == 0 or events / ours >= budget  # the point estimate; the interval is printed
    print(f"\n{events:,} labeled events, {args.seeds} seeds, {time.perf_counter() - started:.0f} s")
    print(f"budgeted level: {ours} false requests: {run_length(events, ours)}")
    print(f"fixed 0.001:    {before} false requests: {run_length(events, before)}")
    flagged = f"{totals['drop_windows']} (budgeted), {totals['fixed_drop_windows']} (fixed)"
    print(f"windows flagged by the test: {flagged}; ADWIN detections: {totals['adwin']}")
    if args.no_record:
        return
    record(
        BenchResult(
            key="false_alarm_budget",
            what=(
                f"false retrain requests, stable streams of {events:,} labeled events "
                f"({args.seeds} seeds), every default trigger together"
            ),
            figure=f"{ours} requests: {run_length(events, ours)}",
            baseline=f"the test at a fixed 0.001 per window, same errors: {before} requests",
            ratio=f"{before}:{ours} false requests",
            target=f">= {budget:,.0f} events per false request (the budget setting)",
            met=met,
            command=f".venv/bin/python bench/bench_false_alarms.py --events {args.events} "
            f"--seeds {args.seeds}",
            notes=(
                f"windows of {args.window_labels:,} labels, accuracy {args.accuracy}, baseline "
                f"{args.baseline_rows:,} rows; the multivariate test and the estimated drop "
                "raise alerts, not requests: see --alerts"
            ),
        )
    )


if __name__ == "__main__":
    main()
