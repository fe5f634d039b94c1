"""The HTML drift report: one self-contained page for the windows of one report period.

Logged to MLflow beside the JSON and the PNG (every ``CENTINELA_REPORT_EVERY_WINDOWS``
windows), for a person to open: per-window volume, verdicts and performance (realised and
estimated before labels; a shadow challenger's realised performance beside the champion's on
the same events), every feature's test with its statistic, p-value and verdict, the
alerts and retrain requests those windows raised, and the PNG plot. Nothing is fetched when
the page opens: the style is inline and the plot is a ``data:`` URI, so it reads the same
from MLflow's artifact viewer, a download or an e-mail.

Every number shown also sits in a ``data-value`` attribute with Python's ``repr`` of the
float, so a program (or a test) can read back exactly what the DriftReport held.

>>> from datetime import UTC, datetime
>>> from centinela.contract.records import DriftReport
>>> t = datetime(2026, 1, 1, tzinfo=UTC)
>>> window = ReportedWindow(DriftReport(model_name="m", model_version="1", window_id=3,
...     window_start=t, window_end=t, n_events=10, n_labeled=0), (), None)
>>> page = render_html([window], plot_png=b"", title="m v1")
>>> page.startswith("<!DOCTYPE html>") and 'data-window="3"' in page
True
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from centinela.contract.records import Alert, DriftReport, RetrainRequest
from stream.challenger_evidence import live_number

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f0f0f0; } td.text { text-align: left; }
tr.drifted td { background: #fde2e1; } .verdict-yes { color: #b00; font-weight: bold; }
img { max-width: 100%; } details { margin-bottom: 0.5em; } summary { cursor: pointer; }
"""


@dataclass(frozen=True)
class ReportedWindow:
    """A window's report with the alerts and the retrain request it raised."""

    report: DriftReport
    alerts: Sequence[Alert]
    request: RetrainRequest | None


def render_html(windows: Sequence[ReportedWindow], *, plot_png: bytes, title: str) -> str:
    """The whole page for ``windows`` (oldest first) with the plot of their history."""
    first, last = windows[0].report, windows[-1].report
    heading = (
        f"Drift report: {escape(title)}, windows {first.window_id}-{last.window_id} "
        f"({_time(first.window_start)} to {_time(last.window_end)})"
    )
    sections = [
        f"<h1>{heading}</h1>",
        f"<p>Generated {_time(datetime.now(UTC))}. Tests at alpha {last.alpha!r} "
        f"with the {escape(last.correction)} correction.</p>",
        "<h2>Windows</h2>",
        _windows_table(windows),
        "<h2>Alerts</h2>",
        _alerts_table(windows),
        "<h2>Retrain requests</h2>",
        _requests_table(windows),
        "<h2>Tests per feature</h2>",
        *(_feature_tests(w.report) for w in windows),
        "<h2>History</h2>",
        _plot(plot_png),
    ]
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{heading}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n"
        "</body>\n</html>\n"
    )


def _windows_table(windows: Sequence[ReportedWindow]) -> str:
    metrics = sorted({k for w in windows for k in w.report.performance})
    estimated = sorted({k for w in windows for k in w.report.estimated_performance})
    # The challenger's columns only when some window had one (docs/architecture.md, "Shadow
    # scoring"): its metrics, and the champion's on the same events.
    challenged = any(w.report.challenger_version is not None for w in windows)
    compared = sorted({k for w in windows for k in w.report.challenger_performance})
    header = [
        "window", "start", "end", "events", "labeled", "data drift", "concept drift",
        "drifted features", "verdicts withheld", "late events", "late outcomes",
        *(f"realised {m}" for m in metrics), *(f"estimated {m}" for m in estimated),
        *(["challenger", "challenger labeled", "live difference (so far)", "live verdict"]
          if challenged else []),
        *(f"challenger {m}" for m in compared), *(f"paired champion {m}" for m in compared),
    ]  # fmt: skip
    rows = []
    for w in windows:
        r = w.report
        cells = [
            _number(r.window_id, "window_id"),
            _text(_time(r.window_start)),
            _text(_time(r.window_end)),
            _number(r.n_events, "n_events"),
            _number(r.n_labeled, "n_labeled"),
            _verdict(r.data_drift, "data_drift"),
            _verdict(r.concept_drift, "concept_drift"),
            _text(", ".join(r.drifted_features)),
            _text(", ".join(r.verdicts_withheld)),
            _number(r.late_events, "late_events"),
            _number(r.late_outcomes, "late_outcomes"),
            *(_number(r.performance.get(m), f"performance.{m}") for m in metrics),
            *(_number(r.estimated_performance.get(m), f"estimated.{m}") for m in estimated),
            *(_challenger_cells(r) if challenged else []),
            *(_number(r.challenger_performance.get(m), f"challenger.{m}") for m in compared),
            *(
                _number(r.challenger_paired_champion.get(m), f"challenger_paired_champion.{m}")
                for m in compared
            ),
        ]
        drifted = r.data_drift or r.concept_drift
        rows.append(_row(cells, window=r.window_id, drifted=drifted, kind="window"))
    return _table(header, rows)


def _challenger_cells(report: DriftReport) -> list[str]:
    """Version, labeled count, and the running always-valid comparison with its interval."""
    if report.challenger_version is None:
        return [_text(""), _number(None, "challenger_labeled"), _text(""), _text("")]
    live = report.challenger_live
    difference, low = live_number(live, "difference"), live_number(live, "interval_low")
    high = live_number(live, "interval_high")
    shown = "" if difference is None else f"{difference:+.4f} [{low:+.4f}, {high:+.4f}]"
    return [
        _text(report.challenger_version),
        _number(report.challenger_labeled, "challenger_labeled"),
        _text(shown),
        _text(str(live.get("verdict") or "")),
    ]


def _feature_tests(report: DriftReport) -> str:
    tests = [*report.features]
    tests += [t for t in (report.prediction, report.multivariate) if t is not None]
    header = ["feature", "kind", "test", "statistic", "p-value", "PSI", "distance", "drifted"]
    rows = [
        _row(
            [
                _text(t.feature),
                _text(t.kind),
                _text(t.test),
                _number(t.statistic, "statistic"),
                _number(t.p_value, "p_value"),
                _number(t.psi, "psi"),
                _number(t.distance, "distance"),
                _verdict(t.drifted, "drifted"),
            ],
            window=report.window_id,
            drifted=t.drifted,
            kind="test",
            feature=t.feature,
        )
        for t in tests
    ]
    flagged = sum(t.drifted for t in tests)
    summary = f"window {report.window_id}: {len(tests)} tests, {flagged} drifted"
    return f"<details{' open' if flagged else ''}><summary>{summary}</summary>\n" + (
        _table(header, rows) + "</details>"
    )


def _alerts_table(windows: Sequence[ReportedWindow]) -> str:
    alerts = [a for w in windows for a in w.alerts]
    if not alerts:
        return "<p>None in these windows.</p>"
    rows = [
        _row(
            [_number(a.window_id, "window_id"), _text(a.kind), _text(a.severity), _text(a.message)],
            window=a.window_id,
            drifted=False,
            kind="alert",
        )
        for a in alerts
    ]
    return _table(["window", "kind", "severity", "message"], rows)


def _requests_table(windows: Sequence[ReportedWindow]) -> str:
    requests = [(w.report.window_id, w.request) for w in windows if w.request is not None]
    if not requests:
        return "<p>None in these windows.</p>"
    rows = [
        _row(
            [_number(window, "window_id"), _text(r.request_id), _text(r.reason)],
            window=window,
            drifted=False,
            kind="request",
        )
        for window, r in requests
    ]
    return _table(["window", "request", "reason"], rows)


def _plot(png: bytes) -> str:
    if not png:
        return "<p>No plot.</p>"
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="statistics of the recent windows" src="data:image/png;base64,{encoded}">'


def _table(header: Iterable[str], rows: Iterable[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return f"<table>\n<tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def _row(cells: Sequence[str], *, window: int | None, drifted: bool, kind: str, **data: str) -> str:
    attributes = f' data-kind="{kind}" data-window="{window}"'
    attributes += "".join(f' data-{name}="{escape(value)}"' for name, value in data.items())
    css = ' class="drifted"' if drifted else ""
    return f"<tr{css}{attributes}>{''.join(cells)}</tr>"


def _number(value: float | None, field: str) -> str:
    if value is None:
        return f'<td data-field="{field}"></td>'
    shown = f"{value:,}" if isinstance(value, int) else f"{value:.4g}"
    return f'<td data-field="{field}" data-value="{value!r}">{shown}</td>'


def _verdict(value: bool, field: str) -> str:
    css, shown = ("verdict-yes", "yes") if value else ("verdict-no", "no")
    return f'<td class="{css}" data-field="{field}" data-value="{value}">{shown}</td>'


def _text(value: str) -> str:
    return f'<td class="text">{escape(value)}</td>'


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
