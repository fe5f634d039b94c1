"""The PNG of a drift report: statistics of consecutive windows over time.

The plot needs a few numbers per window, not the whole DriftReport (~27 KB in memory each):
:class:`WindowPoint` keeps those, so hundreds of windows of history cost well under a megabyte.
matplotlib is imported on the first plot only (it adds ~36 MB to the process). Both figures,
and the plot leak the collection below prevents: docs/benchmarks.md ("Stream").
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from centinela.contract.records import DriftReport


@dataclass(frozen=True, slots=True)
class WindowPoint:
    """What the plot shows of one window."""

    window_id: int
    tests: dict[str, float]  # feature -> p-value (or the statistic of a test without one)
    performance: dict[str, float]
    n_events: int
    n_labeled: int
    alpha: float

    @classmethod
    def of(cls, report: DriftReport) -> WindowPoint:
        tests = {}
        for test in report.features:
            value = test.p_value if test.p_value is not None else test.statistic
            tests[test.feature] = max(value, 1e-300)  # a log scale has no zero
        performance = dict(report.performance)
        if "accuracy" in report.estimated_performance:  # before labels, beside the realised
            performance["estimated_accuracy"] = report.estimated_performance["accuracy"]
        return cls(
            report.window_id,
            tests,
            performance,
            report.n_events,
            report.n_labeled,
            report.alpha,
        )


def plot_windows(points: Sequence[WindowPoint], path: Path, title: str = "") -> Path:
    """Three panels: per-feature p-values (or statistics), performance, events and labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    windows = [p.window_id for p in points]
    figure = Figure(figsize=(10, 9))
    FigureCanvasAgg(figure)  # no display in a worker: render to a PNG only
    tests, performance, volume = figure.subplots(3, 1, sharex=True)
    for name in sorted({name for p in points for name in p.tests}):
        tests.plot(
            windows, [p.tests.get(name) for p in points], marker=".", linewidth=1, label=name
        )
    if points:
        tests.axhline(points[-1].alpha, color="red", linestyle="--", linewidth=1, label="alpha")
    tests.set_yscale("log")
    tests.set_ylabel("p-value (or statistic)")
    tests.legend(fontsize=6, ncol=4, loc="lower left")
    for metric in sorted({k for p in points for k in p.performance}):
        series = [p.performance.get(metric) for p in points]
        performance.plot(windows, series, marker=".", label=metric)
    performance.set_ylabel("performance")
    performance.legend(fontsize=7)
    volume.bar(windows, [p.n_events for p in points], label="events", alpha=0.6)
    volume.bar(windows, [p.n_labeled for p in points], label="labeled", alpha=0.6)
    volume.set_xlabel("window")
    volume.legend(fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    # A figure's artists refer to each other: only the cyclic collector frees them, and the
    # worker's raised GC thresholds would keep each plot (~8 MB) for minutes. pyplot.close
    # collects the young generations for the same reason; so does this.
    figure.clear()
    del figure, tests, performance, volume
    gc.collect(1)
    return path
