"""Calibration of the windowed performance-drop test: false alarms and detection delay.

The stream tests each window's labeled errors against the reference profile's baseline, which
is an estimate from a few hundred to a few thousand validation rows. Two tests, on the same
simulated counts (common random numbers):

- old: one-sided exact binomial test against ``1 - baseline accuracy`` as if it were exact
  (:func:`centinela.drift.performance.error_rate_pvalue`, what profiles without counts get);
- new: one-sided Fisher exact test of the window's errors against the baseline's errors
  (:func:`centinela.drift.performance.fisher_greater_pvalues`, what the stream runs now).

For a grid of baseline sizes (validation rows) and window sizes (labels per window):

1. flagged rate with no drift: the model is exactly as accurate as its true validation accuracy
   (0.85), the baseline is drawn from it, every window too; the share of windows flagged at the
   default ``CENTINELA_CONCEPT_ALPHA`` (0.001). A calibrated test stays at or below it.
2. detection delay of a 10-point accuracy drop (0.85 -> 0.75) starting at a window boundary:
   labels until the first flagged window (whole windows, so at least one window), mean and
   median over trials; "missed" counts trials not detected within ``--max-labels``.

Pure counts (numpy and scipy), no Kafka, no MLflow; one CPU for about a minute at the defaults.
The tables are printed and written as Markdown to ``bench/results/concept_calibration.md``, to
paste into docs/benchmarks.md ("Concept test calibration"); the summary row goes to
``bench/results/concept_calibration.json`` for `make bench`'s table.

    .venv/bin/python bench/bench_concept_calibration.py [--trials 20000] [--delay-trials 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import special

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS, BenchResult, record  # noqa: E402
from centinela.drift.config import DriftConfig  # noqa: E402
from centinela.drift.performance import fisher_greater_pvalues  # noqa: E402

BASELINE_SIZES = (500, 1_000, 2_500, 5_000, 10_000)
WINDOW_SIZES = (200, 500, 2_000, 5_000, 20_000)
COMMAND = ".venv/bin/python bench/bench_concept_calibration.py"


def old_pvalues(
    errors: np.ndarray, n: int, baseline_errors: np.ndarray, baseline_n: int
) -> np.ndarray:
    """The exact-baseline binomial test, vectorised as ``error_rate_pvalue`` computes it."""
    baseline_error = baseline_errors / baseline_n
    p_values = special.bdtrc(errors - 1, n, baseline_error)
    p_values = np.where(baseline_error <= 0.0, 0.0, p_values)
    return np.where(errors <= 0, 1.0, p_values)


def new_pvalues(
    errors: np.ndarray, n: int, baseline_errors: np.ndarray, baseline_n: int
) -> np.ndarray:
    return fisher_greater_pvalues(errors, n, baseline_errors, baseline_n)


@dataclass(frozen=True)
class Cell:
    baseline_n: int
    n: int
    old_rate: float
    new_rate: float
    old_delay: tuple[float, float, int]  # mean labels, median labels, missed trials
    new_delay: tuple[float, float, int]


def flagged_rates(
    rng: np.random.Generator, baseline_n: int, n: int, *, error: float, alpha: float, trials: int
) -> tuple[float, float]:
    baseline_errors = rng.binomial(baseline_n, error, trials)
    errors = rng.binomial(n, error, trials)
    old = old_pvalues(errors, n, baseline_errors, baseline_n) < alpha
    new = new_pvalues(errors, n, baseline_errors, baseline_n) < alpha
    return float(old.mean()), float(new.mean())


def detection_delays(
    rng: np.random.Generator,
    baseline_n: int,
    n: int,
    *,
    error: float,
    drop: float,
    alpha: float,
    trials: int,
    max_labels: int,
) -> tuple[tuple[float, float, int], tuple[float, float, int]]:
    """Labels until the first flagged window after the drop, for the old and the new test."""
    baseline_errors = rng.binomial(baseline_n, error, trials)
    first: dict[str, np.ndarray] = {
        "old": np.full(trials, -1, dtype=np.int64),
        "new": np.full(trials, -1, dtype=np.int64),
    }
    windows = max(1, max_labels // n)
    for k in range(windows):
        errors = rng.binomial(n, error + drop, trials)  # the same windows for both tests
        for name, test in (("old", old_pvalues), ("new", new_pvalues)):
            open_trials = first[name] < 0
            if not open_trials.any():
                continue
            flagged = test(errors, n, baseline_errors, baseline_n) < alpha
            first[name][open_trials & flagged] = (k + 1) * n
        if all((found >= 0).all() for found in first.values()):
            break
    return _delay(first["old"]), _delay(first["new"])


def _delay(first: np.ndarray) -> tuple[float, float, int]:
    found = first[first >= 0]
    missed = int((first < 0).sum())
    if found.size == 0:
        return float("nan"), float("nan"), missed
    return float(found.mean()), float(np.median(found)), missed


def _rate(value: float) -> str:
    return f"{100 * value:.3f}%"


def _labels(delay: tuple[float, float, int]) -> str:
    mean, median, missed = delay
    text = "missed" if np.isnan(mean) else f"{mean:,.0f} (median {median:,.0f})"
    return text + (f", {missed} missed" if missed and not np.isnan(mean) else "")


def markdown(cells: list[Cell], args: argparse.Namespace, seconds: float) -> str:
    head = (
        f"Accuracy {args.accuracy} (validation and stream alike), alpha {args.alpha} "
        f"(`CENTINELA_CONCEPT_ALPHA`); flagged rates over {args.trials:,} no-drift windows per "
        f"cell; delays over {args.delay_trials:,} drops of {args.drop:.2f} in accuracy, each "
        f"with its own baseline draw, windows read until {args.max_labels:,} labels; seed "
        f"{args.seed}; {seconds:.0f} s.\n\nCommand: `{COMMAND}"
        + (f" --trials {args.trials}" if args.trials != 20_000 else "")
        + (f" --delay-trials {args.delay_trials}" if args.delay_trials != 2_000 else "")
        + "`\n"
    )
    rate_rows = [
        "| baseline rows | labels per window | flagged, old (exact baseline) | flagged, new "
        "(Fisher) |",
        "|---:|---:|---:|---:|",
    ]
    delay_rows = [
        "| baseline rows | labels per window | labels until detection, old | labels until "
        "detection, new |",
        "|---:|---:|---:|---:|",
    ]
    for cell in cells:
        rate_rows.append(
            f"| {cell.baseline_n:,} | {cell.n:,} | {_rate(cell.old_rate)} | "
            f"{_rate(cell.new_rate)} |"
        )
        delay_rows.append(
            f"| {cell.baseline_n:,} | {cell.n:,} | {_labels(cell.old_delay)} | "
            f"{_labels(cell.new_delay)} |"
        )
    return (
        head
        + "\nFalse alarms (no drift), share of windows flagged:\n\n"
        + "\n".join(rate_rows)
        + "\n\nDetection of a 10-point accuracy drop, labels until the first flagged window:\n\n"
        + "\n".join(delay_rows)
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20_000, help="no-drift windows per cell")
    parser.add_argument("--delay-trials", type=int, default=2_000, help="drops per cell")
    parser.add_argument("--alpha", type=float, default=DriftConfig().concept_alpha)
    parser.add_argument("--accuracy", type=float, default=0.85)
    parser.add_argument("--drop", type=float, default=0.10, help="accuracy lost at the change")
    parser.add_argument("--max-labels", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--out", type=Path, default=RESULTS / "concept_calibration.md", help="Markdown tables"
    )
    parser.add_argument("--no-record", action="store_true", help="do not write the result row")
    args = parser.parse_args()
    error = 1.0 - args.accuracy
    started = time.monotonic()
    cells = []
    print(f"{'baseline':>8} {'window':>7} {'flagged old':>12} {'flagged new':>12} "
          f"{'delay old (labels)':>30} {'delay new (labels)':>30}")  # fmt: skip
    for baseline_n in BASELINE_SIZES:
        for n in WINDOW_SIZES:
            rng = np.random.default_rng([args.seed, baseline_n, n])
            old_rate, new_rate = flagged_rates(
                rng, baseline_n, n, error=error, alpha=args.alpha, trials=args.trials
            )
            old_delay, new_delay = detection_delays(
                rng, baseline_n, n, error=error, drop=args.drop, alpha=args.alpha,
                trials=args.delay_trials, max_labels=args.max_labels,
            )  # fmt: skip
            cell = Cell(baseline_n, n, old_rate, new_rate, old_delay, new_delay)
            cells.append(cell)
            print(f"{baseline_n:>8,} {n:>7,} {_rate(old_rate):>12} {_rate(new_rate):>12} "
                  f"{_labels(old_delay):>30} {_labels(new_delay):>30}", flush=True)  # fmt: skip
    seconds = time.monotonic() - started
    text = markdown(cells, args, seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"\n{text}\nwritten to {args.out}")
    if not args.no_record:
        _record(cells, args)


def _record(cells: list[Cell], args: argparse.Namespace) -> None:
    margin = 3.0 * float(np.sqrt(args.alpha * (1 - args.alpha) / args.trials))
    worst_new = max(cells, key=lambda c: c.new_rate)
    worst_old = max(cells, key=lambda c: c.old_rate)
    at_2000 = [c for c in cells if c.n == 2_000]
    slowest = max(at_2000, key=lambda c: c.new_delay[0])
    calibrated = all(c.new_rate <= args.alpha + margin for c in cells)
    detected = all(c.new_delay[1] <= 2_000 for c in at_2000)
    record(BenchResult(
        key="concept_calibration",
        what="performance-drop test: false alarms over baselines of 500-10,000 rows and windows "
        "of 200-20,000 labels; delay of a 10-point accuracy drop",
        figure=f"worst cell {_rate(worst_new.new_rate)} flagged (alpha {_rate(args.alpha)}, "
        f"baseline {worst_new.baseline_n:,}, window {worst_new.n:,}); a 10-point drop in "
        f"windows of 2,000 labels: median {slowest.new_delay[1]:,.0f} labels, mean "
        f"{slowest.new_delay[0]:,.0f} at baseline {slowest.baseline_n:,}",
        baseline=f"exact-baseline binomial test: worst cell {_rate(worst_old.old_rate)} flagged "
        f"(baseline {worst_old.baseline_n:,}, window {worst_old.n:,})",
        ratio=f"{worst_old.old_rate / max(worst_new.new_rate, 1e-12):.0f}x fewer false alarms "
        "in the worst cell",
        target="flagged rate <= alpha (+3 sd of the measurement) in every cell; a 10-point drop "
        "detected within one window of 2,000 labels (median)",
        met=calibrated and detected,
        command=COMMAND,
    ))  # fmt: skip


if __name__ == "__main__":
    main()
