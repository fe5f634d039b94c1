"""The drift report's PNG: drawn from compact window points, and nothing of it left behind."""

from __future__ import annotations

import gc
from pathlib import Path

from matplotlib.figure import Figure

from stream.plots import WindowPoint, plot_windows


def _figures() -> int:
    return sum(isinstance(o, Figure) for o in gc.get_objects())


def test_a_plot_leaves_no_figure_behind_for_the_collector(tmp_path: Path) -> None:
    points = [
        WindowPoint(w, {"x0": 0.4, "x1": 1e-9}, {"accuracy": 0.9}, 100 + w, 50, 0.05)
        for w in range(30)
    ]
    gc.collect()
    before = _figures()
    gc.disable()  # the worker's raised thresholds: a full collection may be minutes away
    try:
        path = plot_windows(points, tmp_path / "report.png", "m v3")
        after = _figures()
    finally:
        gc.enable()
    assert path.read_bytes().startswith(b"\x89PNG")
    assert after == before
