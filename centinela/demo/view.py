"""The live terminal view of a demo run (rich)."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from centinela.contract.records import DriftReport
from centinela.demo.observer import DemoState

SHOWN_FEATURES = 8


def render(state: DemoState, *, target: int, stage: str) -> Group:
    with state.lock:
        return Group(
            _header(state, target=target, stage=stage),
            _window(state.reports[-1] if state.reports else None),
            _happenings(state),
        )


def _header(state: DemoState, *, target: int, stage: str) -> Panel:
    p50 = state.latency_percentile(50)
    p99 = state.latency_percentile(99)
    versions = ", ".join(f"v{v}: {n:,}" for v, n in sorted(state.versions_seen.items())) or "-"
    grid = Table.grid(padding=(0, 3))
    grid.add_row(
        f"[b]stage[/b] {stage}",
        f"[b]sent[/b] {state.sent:,}/{target:,}",
        f"[b]scored[/b] {state.scored:,}",
        f"[b]events/s[/b] {state.rate():,.0f}",
    )
    grid.add_row(
        f"[b]scoring latency[/b] p50 {_ms(p50)}  p99 {_ms(p99)}",
        f"[b]windows[/b] {len(state.reports)}",
        f"[b]dead letters[/b] {state.dead_letters}",
        f"[b]predictions by version[/b] {versions}",
    )
    return Panel(grid, title="Centinela live demo", border_style="cyan")


def _window(report: DriftReport | None) -> Panel:
    if report is None:
        return Panel("waiting for the first window to close...", title="current window")
    table = Table(expand=True, show_edge=False)
    for column in ("feature", "test", "statistic", "p-value", "PSI", "drifted"):
        table.add_column(column, justify="right" if column != "feature" else "left")
    ranked = sorted(report.features, key=lambda f: f.p_value if f.p_value is not None else 1.0)
    for feature in ranked[:SHOWN_FEATURES]:
        table.add_row(
            feature.feature,
            feature.test,
            f"{feature.statistic:.3f}",
            "-" if feature.p_value is None else f"{feature.p_value:.2e}",
            "-" if feature.psi is None else f"{feature.psi:.3f}",
            "[red]yes[/red]" if feature.drifted else "no",
        )
    performance = "  ".join(f"{k} {v:.3f}" for k, v in sorted(report.performance.items()))
    flags = []
    if report.data_drift:
        flags.append("[red]DATA DRIFT[/red]")
    if report.concept_drift:
        flags.append("[red]CONCEPT DRIFT[/red]")
    if "data" in report.verdicts_withheld:
        flags.append("[dim]too few events for a verdict[/dim]")
    title = (
        f"window {report.window_id} (model v{report.model_version}, {report.n_events:,} events, "
        f"{report.n_labeled:,} labeled) {' '.join(flags) or '[green]no drift[/green]'}"
    )
    lines = Group(table, Text(performance or "no labels yet"), Text(estimate_line(report)))
    return Panel(lines, title=title)


def estimate_line(report: DriftReport) -> str:
    """The window's performance estimated before labels, and the estimator's error on the
    window's labeled outcomes (docs/architecture.md, "Performance before labels")."""
    estimated = report.estimated_performance
    if "accuracy" not in estimated:
        return "no estimate before labels (the model gives no probabilities)"
    shown = [f"{name} {estimated[name]:.3f}" for name in ("accuracy", "f1") if name in estimated]
    how = "" if estimated.get("calibrated") == 1.0 else " (uncalibrated)"
    line = f"estimated before labels: {'  '.join(shown)}{how}"
    error = report.estimation_error.get("accuracy")
    if error is not None:
        line += f"   estimator error on this window's labels: accuracy {error:+.3f}"
    return line


def _happenings(state: DemoState) -> Panel:
    lines = [
        f"[yellow]alert[/yellow] {a.kind} window {a.window_id}: {a.message}"
        for a in state.alerts[-4:]
    ]
    lines += [
        f"[magenta]retrain request[/magenta] {r.request_id} ({r.reason})"
        for r in state.retrain_requests[-2:]
    ]
    lines += [
        f"[green]model event[/green] {e.event_type} v{e.version} {e.reason}".rstrip()
        for e in state.model_events[-3:]
    ]
    return Panel("\n".join(lines) or "no alerts yet", title="alerts and model events")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"
