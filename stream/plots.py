"""The PNG of a drift report: statistics of consecutive windows over time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in a worker

import matplotlib.pyplot as plt

from stream.records import DriftReport


def plot_windows(reports: Sequence[DriftReport], path: Path) -> Path:
    """Three panels: per-feature p-values (or statistics), performance, events and labels."""
    windows = [r.window_id for r in reports]
    figure, (tests, performance, volume) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    names = sorted({t.feature for r in reports for t in r.features})
    for name in names:
        series = [_test_value(r, name) for r in reports]
        tests.plot(windows, series, marker=".", linewidth=1, label=name)
    if reports:
        tests.axhline(reports[-1].alpha, color="red", linestyle="--", linewidth=1, label="alpha")
    tests.set_yscale("log")
    tests.set_ylabel("p-value (or statistic)")
    tests.legend(fontsize=6, ncol=4, loc="lower left")
    for metric in sorted({k for r in reports for k in r.performance}):
        performance.plot(
            windows, [r.performance.get(metric) for r in reports], marker=".", label=metric
        )
    performance.set_ylabel("performance")
    performance.legend(fontsize=7)
    volume.bar(windows, [r.n_events for r in reports], label="events", alpha=0.6)
    volume.bar(windows, [r.n_labeled for r in reports], label="labeled", alpha=0.6)
    volume.set_xlabel("window")
    volume.legend(fontsize=7)
    figure.suptitle(f"{reports[-1].model_name} v{reports[-1].model_version}" if reports else "")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def _test_value(report: DriftReport, feature: str) -> float | None:
    for test in report.features:
        if test.feature == feature:
            value = test.p_value if test.p_value is not None else test.statistic
            return max(value, 1e-300)
    return None
