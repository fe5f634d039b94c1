"""Centinela's window drift test vs Evidently's DataDriftPreset on the same windows.

Both run the per-feature two-sample KS test on 2,000-event x 20-feature windows against a
10,000-row reference; Evidently's threshold is set to the per-feature level of our Bonferroni
correction, so the verdicts are comparable. Prints the time per window of each, the speed
ratio, and how often the per-feature verdicts agree.

    .venv/bin/python bench/bench_evidently.py      (Evidently runs in bench/.evidently-venv)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import BenchResult, record  # noqa: E402
from centinela.contract.settings import Settings  # noqa: E402
from centinela.drift import DriftConfig, WindowSummary, compute_drift  # noqa: E402
from centinela.models.profile import build_profile  # noqa: E402

EVIDENTLY_PYTHON = ROOT / "bench" / ".evidently-venv" / "bin" / "python"
N_FEATURES, N_REFERENCE, N_WINDOW = 20, 10_000, 2_000
SHIFTS = [0.0] * 5 + [0.05, 0.1, 0.15, 0.2, 0.3]  # mean shift of x0..x2 per window, in sd


def make_data(seed: int = 11) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(N_FEATURES)]
    reference = pd.DataFrame(rng.normal(size=(N_REFERENCE, N_FEATURES)), columns=names)
    windows = []
    for shift in SHIFTS:
        window = pd.DataFrame(rng.normal(size=(N_WINDOW, N_FEATURES)), columns=names)
        window[["x0", "x1", "x2"]] += shift
        windows.append(window)
    return reference, windows


def run_ours(
    reference: pd.DataFrame, windows: list[pd.DataFrame], settings: Settings
) -> list[dict[str, object]]:
    predicted = (reference["x0"] > 0).astype(int).to_numpy()
    profile = build_profile(reference, predicted, classes=(0, 1), sample_size=N_REFERENCE)
    config = DriftConfig.from_settings(settings)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    results = []
    for index, window in enumerate(windows):
        ids = [f"w{index}-{i}" for i in range(len(window))]
        started = time.perf_counter()
        summary = WindowSummary.empty(
            profile,
            model_version="1",
            window_id=index,
            window_start=start,
            window_end=start + timedelta(seconds=20),
            exact_cap=settings.window_exact_cap,
        )
        summary.add_events(ids, window, (window["x0"] > 0).astype(int).to_numpy())
        report = compute_drift(summary, profile, config, model_name="bench")
        seconds = time.perf_counter() - started
        results.append(
            {
                "seconds": seconds,
                "p_values": {f.feature: f.p_value for f in report.features},
                "drifted": {f.feature: f.drifted for f in report.features},
            }
        )
    return results


def run_evidently(
    reference: pd.DataFrame, windows: list[pd.DataFrame], threshold: float
) -> list[dict[str, object]]:
    if not EVIDENTLY_PYTHON.exists():
        raise SystemExit("Evidently's environment is missing: run `make bench` (it installs it)")
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "reference.npy", reference.to_numpy())
        for index, window in enumerate(windows):
            np.save(Path(folder) / f"window-{index:03d}.npy", window.to_numpy())
        output = subprocess.run(
            [str(EVIDENTLY_PYTHON), str(ROOT / "bench" / "evidently_worker.py"), folder,
             repr(threshold)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    results: list[dict[str, object]] = json.loads(output)
    return results


def main() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    threshold = settings.drift_alpha / N_FEATURES  # Bonferroni's per-feature level
    reference, windows = make_data()
    run_ours(reference, windows[:1], settings)  # warm-up (imports, caches)
    ours = run_ours(reference, windows, settings)
    theirs = run_evidently(reference, windows, threshold)

    agree = total = 0
    print(
        f"{'window':>6} {'shift':>6} {'ours ms':>8} {'Evidently ms':>13} {'drifted ours/Ev.':>17}"
    )
    for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
        mine_drifted, other_drifted = mine["drifted"], other["drifted"]
        assert isinstance(mine_drifted, dict) and isinstance(other_drifted, dict)
        for name, verdict in mine_drifted.items():
            total += 1
            agree += verdict == other_drifted[name]
        print(f"{index:>6} {SHIFTS[index]:>6.2f} {1000 * float(mine['seconds']):>8.1f} "  # type: ignore[arg-type]
              f"{1000 * float(other['seconds']):>13.1f} "  # type: ignore[arg-type]
              f"{sum(mine_drifted.values()):>8}/{sum(other_drifted.values())}")  # fmt: skip
    ours_ms = 1000 * float(np.median([r["seconds"] for r in ours]))  # type: ignore[misc]
    theirs_ms = 1000 * float(np.median([r["seconds"] for r in theirs]))  # type: ignore[misc]
    share = agree / total
    print(
        f"\nmedian per window: ours {ours_ms:.1f} ms, Evidently {theirs_ms:.1f} ms, "
        f"{theirs_ms / ours_ms:.0f}x faster; per-feature verdicts agree {agree}/{total}"
    )
    record(
        BenchResult(
            key="evidently",
            what="data-drift verdicts vs Evidently DataDriftPreset (KS), 2,000 x 20 window",
            figure=f"{ours_ms:.1f} ms/window; verdicts agree {agree}/{total} ({share:.0%})",
            baseline=f"Evidently 0.7.23: {theirs_ms:.0f} ms/window",
            ratio=f"{theirs_ms / ours_ms:.0f}x faster",
            target="equal verdicts; faster than Evidently",
            met=share == 1.0 and ours_ms < theirs_ms,
            command=".venv/bin/python bench/bench_evidently.py",
            notes="Evidently's KS uses scipy's default (exact) method; ours the configured one",
        )
    )


if __name__ == "__main__":
    main()
