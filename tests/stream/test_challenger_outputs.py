"""A window's challenger numbers in what the stream shows: MLflow's metrics, /status,
/metrics and the HTML report; a window without a challenger shows nothing extra."""

from __future__ import annotations

from datetime import UTC, datetime

from centinela.contract.records import DriftReport
from stream.html_report import ReportedWindow, render_html
from stream.monitoring import report_metrics
from stream.prometheus import StreamMetrics
from stream.status import StatusBoard
from tests.stream.test_html_report import ReportPage

T = datetime(2026, 1, 1, tzinfo=UTC)
LIVE_COUNTS = {"challenger_only_right": 90, "champion_only_right": 12, "both_same": 278}
LIVE: dict[str, float | int | str | None] = {
    **LIVE_COUNTS, "events": 380, "difference": 0.2053, "interval_low": 0.12,
    "interval_high": 0.29, "alpha": 0.05, "verdict": "better", "through_window": 9,
}  # fmt: skip


def _report(window: int = 9, **update: object) -> DriftReport:
    report = DriftReport(
        model_name="m", model_version="3", window_id=window, window_start=T, window_end=T,
        n_events=2000, n_labeled=400, performance={"accuracy": 0.70, "f1": 0.6},
        challenger_version="4", challenger_labeled=380,
        challenger_performance={"accuracy": 0.91, "f1": 0.875},
        challenger_paired_champion={"accuracy": 0.71, "f1": 0.625},
        challenger_paired_counts=LIVE_COUNTS, challenger_live=LIVE,
    )  # fmt: skip
    return report.model_copy(update=update)


def _plain(window: int = 8) -> DriftReport:
    return _report(
        window,
        challenger_version=None,
        challenger_labeled=0,
        challenger_performance={},
        challenger_paired_champion={},
        challenger_paired_counts={},
        challenger_live={},
    )


def test_mlflow_metrics_carry_the_challenger_and_the_paired_champion() -> None:
    metrics = report_metrics(_report())
    assert metrics["challenger_labeled"] == 380.0
    assert metrics["challenger_accuracy"] == 0.91
    assert metrics["challenger_f1"] == 0.875
    assert metrics["challenger_paired_champion_accuracy"] == 0.71
    assert metrics["challenger_paired_champion_f1"] == 0.625
    assert metrics["performance.accuracy"] == 0.70  # the champion's, on all its outcomes
    assert metrics["challenger_live_events"] == 380.0
    assert metrics["challenger_live_difference"] == 0.2053
    assert (metrics["challenger_live_interval_low"], metrics["challenger_live_interval_high"]) == (
        0.12,
        0.29,
    )
    assert metrics["challenger_live_verdict"] == 1.0
    assert not [name for name in report_metrics(_plain()) if "challenger" in name]


def test_status_shows_the_challenger_of_the_windows_that_had_one() -> None:
    board = StatusBoard()
    board.record(_plain(), [], None)
    board.record(_report(), [], None)
    without, with_challenger = board.snapshot()["windows"]
    assert "challenger" not in without
    assert with_challenger["challenger"] == {
        "version": "4",
        "labeled": 380,
        "performance": {"accuracy": 0.91, "f1": 0.875},
        "paired_champion": {"accuracy": 0.71, "f1": 0.625},
        "live": LIVE,
    }


def test_prometheus_gauges_follow_the_last_window_with_a_challenger() -> None:
    gauges = StreamMetrics()
    text = gauges.render().decode()
    assert "centinela_challenger_accuracy{" not in text
    report = _report()
    set_window = gauges.set_challenger_window
    set_window(
        report.challenger_version,
        report.challenger_labeled,
        report.challenger_performance,
        report.challenger_paired_champion,
        report.challenger_live,
    )
    set_window(None, 0, {}, {}, {})  # a window without challenger outcomes leaves them
    text = gauges.render().decode()
    assert 'centinela_challenger_labeled{version="4"} 380.0' in text
    assert 'centinela_challenger_accuracy{version="4"} 0.91' in text
    assert 'centinela_challenger_paired_champion_accuracy{version="4"} 0.71' in text
    assert 'centinela_challenger_live_verdict{version="4"} 1.0' in text
    assert 'centinela_challenger_live_difference{version="4"} 0.2053' in text
    worse = {**LIVE, "verdict": "worse", "difference": -0.5}
    set_window("5", 12, {"accuracy": 0.5}, {"accuracy": 0.25}, worse)  # another replaces
    text = gauges.render().decode()
    assert 'version="4"' not in text
    assert 'centinela_challenger_accuracy{version="5"} 0.5' in text
    assert 'centinela_challenger_live_verdict{version="5"} -1.0' in text


def test_the_html_report_shows_the_challenger_columns_only_with_a_challenger() -> None:
    page = ReportPage()
    windows = [ReportedWindow(_plain(), (), None), ReportedWindow(_report(), (), None)]
    page.feed(render_html(windows, plot_png=b"", title="m v3"))
    without, with_challenger = page.rows["window"]
    assert with_challenger["challenger_labeled"] == "380"
    assert float(with_challenger["challenger.accuracy"]) == 0.91
    assert float(with_challenger["challenger_paired_champion.accuracy"]) == 0.71
    assert float(with_challenger["challenger_paired_champion.f1"]) == 0.625
    shown = render_html(windows, plot_png=b"", title="m v3")
    assert '<td class="text">+0.2053 [+0.1200, +0.2900]</td>' in shown
    assert '<td class="text">better</td>' in shown
    assert "challenger.accuracy" not in without and "challenger_labeled" not in without
    alone = ReportPage()
    alone.feed(render_html([ReportedWindow(_plain(), (), None)], plot_png=b"", title="m v3"))
    html = render_html([ReportedWindow(_plain(), (), None)], plot_png=b"", title="m v3")
    assert "challenger" not in html.lower()
    assert alone.rows["window"][0]["n_labeled"] == "400"
