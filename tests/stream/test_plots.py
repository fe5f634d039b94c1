"""The drift report's PNG: drawn from compact window points, and nothing of it left behind;
the worker draws it in a child process."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from stream.plots import PlotError, WindowPoint, plot_windows, plot_windows_apart
from tests.fresh_interpreter import run_fresh


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


def _points() -> list[WindowPoint]:
    return [
        WindowPoint(w, {"x0": 0.4, "x1": 1e-9}, {"accuracy": 0.9}, 100 + w, 50, 0.05)
        for w in range(30)
    ]


def test_the_child_process_draws_the_same_plot(tmp_path: Path) -> None:
    here = plot_windows(_points(), tmp_path / "here.png", "m v3")
    apart = plot_windows_apart(_points(), tmp_path / "apart.png", "m v3")
    assert apart.read_bytes() == here.read_bytes()


def test_the_worker_s_process_never_imports_matplotlib(tmp_path: Path) -> None:
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from stream.plots import WindowPoint, plot_windows_apart\n"
        "path = plot_windows_apart([WindowPoint(1, {'x': 0.5}, {}, 10, 5, 0.05)], "
        f"Path({str(tmp_path / 'p.png')!r}))\n"
        "print(path.read_bytes()[:4], 'matplotlib' in sys.modules)"
    )
    assert run_fresh(script) == "b'\\x89PNG' False"


def test_a_plot_the_child_cannot_draw_raises_with_its_reason(tmp_path: Path) -> None:
    with pytest.raises(PlotError, match=r"drawing p.png failed \(1\): .*No such file"):
        plot_windows_apart(_points(), tmp_path / "missing" / "p.png")


def test_a_report_whose_plot_fails_goes_out_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from stream.monitoring import MonitoringLogger

    png = MonitoringLogger._plot(_points(), tmp_path / "missing" / "drift_report_7", "m v3")
    assert png == b""
    assert "drift_report_7 without its plot" in caplog.text
