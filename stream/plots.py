"""The PNG of a drift report: statistics of consecutive windows over time.

The plot needs a few numbers per window, not the whole DriftReport (~27 KB in memory each):
:class:`WindowPoint` keeps those, so hundreds of windows of history cost well under a megabyte.
The worker draws it in a child process (:func:`plot_windows_apart`): matplotlib adds ~30 MB
to a process that imports it, and drawing 500 windows of 20 features takes ~2 s of CPU, which
in the worker would hold the interpreter lock while events wait. The child gets the points as
JSON on its standard input (``python -m stream.plots PATH TITLE``). The plot leak the
collection below prevents: docs/benchmarks.md ("Stream").
"""

from __future__ import annotations

import dataclasses
import gc
import json
import subprocess
import sys
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


PLOT_TIMEOUT_SECONDS = 120.0


class PlotError(RuntimeError):
    """The child process that draws a plot failed."""


def plot_windows_apart(points: Sequence[WindowPoint], path: Path, title: str = "") -> Path:
    """:func:`plot_windows` in a child process; this one never imports matplotlib."""
    document = json.dumps([dataclasses.asdict(point) for point in points])
    try:
        done = subprocess.run(
            [sys.executable, "-m", "stream.plots", str(path), title],
            input=document.encode(),
            capture_output=True,
            timeout=PLOT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as slow:
        raise PlotError(f"drawing {path.name} took over {PLOT_TIMEOUT_SECONDS:.0f} s") from slow
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise PlotError(f"drawing {path.name} failed ({done.returncode}): {reason[0]}")
    return path


def main(arguments: Sequence[str]) -> None:
    """``python -m stream.plots PATH [TITLE]``, the points as JSON on standard input."""
    points = [WindowPoint(**fields) for fields in json.load(sys.stdin)]
    title = arguments[1] if len(arguments) > 1 else ""
    plot_windows(points, Path(arguments[0]), title)


if __name__ == "__main__":
    main(sys.argv[1:])
