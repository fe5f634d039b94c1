from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlflow.tracking import MlflowClient
from rich.console import Console

from centinela.contract.records import Alert, DriftReport, ModelEvent, RetrainRequest
from centinela.contract.settings import Settings
from centinela.demo.closing_summary import (
    accuracy_stretches,
    html_report_lines,
    match_detections,
    match_responses,
    print_summary,
    read_manifest,
    recovery_lines,
    scenario_end,
)
from centinela.demo.observer import DemoState
from centinela.demo.orchestration import _caught_up

T0 = datetime(2026, 1, 1, 7, tzinfo=UTC)
WINDOW = timedelta(seconds=20)


def _report(window: int, *, data: bool = False, concept: bool = False) -> DriftReport:
    start = T0 + window * WINDOW
    return DriftReport(
        model_name="m", model_version="1", window_id=window, window_start=start,
        window_end=start + WINDOW, n_events=2000, n_labeled=0, data_drift=data,
        concept_drift=concept,
    )  # fmt: skip


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "run.manifest.json"
    drifts = [
        {"kind": "covariate", "mode": "sudden", "start_index": 2000, "reached": True,
         "start_time": (T0 + WINDOW).isoformat()},
        {"kind": "concept", "mode": "gradual", "start_index": 6000, "reached": True,
         "start_time": (T0 + 3 * WINDOW).isoformat()},
        {"kind": "prior", "mode": "sudden", "start_index": 90000, "reached": False,
         "start_time": None},
    ]  # fmt: skip
    clock = {"kind": "scenario", "nominal_rate": 100.0, "epoch": T0.isoformat()}
    counts = {"events_sent": 8001}
    path.write_text(json.dumps({"clock": clock, "drifts": drifts, "counts": counts}))
    return path


def test_each_drift_is_matched_to_the_first_window_flagging_its_kind(tmp_path: Path) -> None:
    drifts = read_manifest(_manifest(tmp_path))
    reports = [
        _report(0, data=True),  # before the change: not a detection of it
        _report(1),
        _report(2, data=True),
        _report(4, concept=True),
    ]
    covariate, concept = match_detections(drifts, reports)

    assert covariate.report is not None and covariate.report.window_id == 2
    assert covariate.detected_by_event == 6000  # end of window 2 at 100 events/s
    assert concept.report is not None and concept.report.window_id == 4
    assert concept.detected_by_event == 10000


def test_unreached_drifts_are_left_out_and_misses_are_reported(tmp_path: Path) -> None:
    drifts = read_manifest(_manifest(tmp_path))
    assert [d.kind for d in drifts] == ["covariate", "concept"]
    (covariate, concept) = match_detections(drifts, [_report(1)])
    assert covariate.report is None and covariate.detected_by_event is None
    assert concept.report is None


def test_a_missing_manifest_means_no_drifts(tmp_path: Path) -> None:
    assert read_manifest(tmp_path / "absent.json") == []


def test_the_scenario_ends_at_its_last_events_time(tmp_path: Path) -> None:
    assert scenario_end(_manifest(tmp_path)) == T0 + timedelta(seconds=80)  # event 8000
    wall = tmp_path / "wall.json"
    wall.write_text(json.dumps({"clock": {"kind": "wall"}, "counts": {"events_sent": 5}}))
    assert scenario_end(wall) is None
    assert scenario_end(tmp_path / "absent.json") is None


def test_the_demo_drains_until_the_last_events_window_is_reported() -> None:
    state = DemoState(sent=2, scored_ids={"a", "b"})
    last_event = T0 + 4 * WINDOW  # the first instant of window 4
    state.reports.extend([_report(2), _report(3)])
    assert not _caught_up(state, last_event)
    state.reports.append(_report(4))
    assert _caught_up(state, last_event)
    assert _caught_up(DemoState(sent=2, scored_ids={"a", "b"}), None)  # wall clock: no wait


def _alert(window: int, kind: str = "data_drift") -> Alert:
    return Alert(
        alert_id=f"m:1:{window}:{kind}", model_name="m", model_version="1", kind=kind,  # type: ignore[arg-type]
        message="...", window_id=window,
    )  # fmt: skip


def _request(window: int, reason: str) -> RetrainRequest:
    return RetrainRequest(
        request_id=f"m-v1-w{window}", model_name="m", champion_version="1",
        reason=reason, train_from=T0 + WINDOW, train_until=T0 + (window + 1) * WINDOW,  # type: ignore[arg-type]
        evidence={"trigger_window_id": window},
    )  # fmt: skip


def test_the_covariate_jump_is_alerted_without_a_retrain_and_the_concept_change_retrains(
    tmp_path: Path,
) -> None:
    manifest = _manifest(tmp_path)
    reports = [_report(1), _report(2, data=True), _report(3, data=True),
               _report(4, data=True, concept=True)]  # fmt: skip
    alerts = [_alert(2), _alert(3), _alert(4), _alert(4, "concept_drift")]
    requests = [_request(4, "performance_drop")]
    covariate, concept = match_responses(
        match_detections(read_manifest(manifest), reports), requests, alerts
    )
    assert covariate.alerted and covariate.requests == ()
    assert covariate.describe() == "alerted, no retrain"
    assert [r.request_id for r in concept.requests] == ["m-v1-w4"]
    assert concept.describe() == "retrain m-v1-w4 (performance_drop)"

    state = DemoState(sent=8001, scored_ids={"a"})
    state.reports.extend(reports)
    state.alerts.extend(alerts)
    state.retrain_requests.extend(requests)
    out = io.StringIO()
    console = Console(file=out, width=250, color_system=None)
    print_summary(console, state, manifest, Settings(_env_file=None), producer_rc=0)  # type: ignore[call-arg]
    text = " ".join(out.getvalue().split())
    assert (
        "the covariate change at event 2,000 was alerted as data drift in window 2 without a "
        "retrain request: data drift alone asks for none" in text
    )
    assert "retrain request m-v1-w4: performance_drop" in text
    assert "the concept change" not in text


def test_the_summary_says_how_much_of_the_accuracy_lost_the_challenger_recovers(
    tmp_path: Path,
) -> None:
    def labeled(window: int, accuracy: float) -> DriftReport:
        report = _report(window)
        return report.model_copy(update={"n_labeled": 2000, "performance": {"accuracy": accuracy}})

    manifest = _manifest(tmp_path)
    reports = [labeled(0, 0.90), labeled(1, 0.92), labeled(2, 0.91), labeled(4, 0.65)]
    event = ModelEvent(
        event_type="registered", model_name="m", version="2", previous_version="1",
        request_id="m-v1-w4", metrics={"holdout_rows": 2000.0, "champion_accuracy": 0.66,
                                       "challenger_accuracy": 0.86},
    )  # fmt: skip
    stretches = accuracy_stretches(read_manifest(manifest), reports)
    (line,) = recovery_lines(stretches, [event])
    # Before any change: window 0 only (window 1 ends after the covariate change began).
    assert line == (
        "accuracy before any change 0.900 (realised); realised after the changes 0.650 at "
        "worst; on the 2,000-row hold-out after the change: champion v1 0.660, challenger v2 "
        "0.860: 83% of the accuracy lost recovered"
    )
    assert recovery_lines(stretches, [event.model_copy(update={"metrics": {}})]) == []

    state = DemoState(sent=8001, scored_ids={"a"})
    state.reports.extend(reports)
    state.model_events.append(event)
    out = io.StringIO()
    console = Console(file=out, width=300, color_system=None)
    print_summary(console, state, manifest, Settings(_env_file=None), producer_rc=0)  # type: ignore[call-arg]
    assert "83% of the accuracy lost recovered" in out.getvalue()


def test_the_summary_names_the_html_reports_of_each_monitoring_run(
    mlflow_store: str, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, mlflow_tracking_uri=mlflow_store, home=tmp_path)  # type: ignore[call-arg]
    assert html_report_lines(settings)[0].startswith("no HTML drift report yet")
    client = MlflowClient(mlflow_store, registry_uri=mlflow_store)
    experiment = client.create_experiment(
        settings.monitoring_experiment, (tmp_path / "artifacts").as_uri()
    )
    run = client.create_run(experiment, run_name="monitor-m-v1")
    pages = tmp_path / "pages"
    pages.mkdir()
    for window in (19, 9):
        (pages / f"drift_report_{window}.html").write_text("<!DOCTYPE html>")
        (pages / f"drift_report_{window}.json").write_text("{}")
    client.log_artifacts(run.info.run_id, str(pages), artifact_path="drift_reports")
    [line] = html_report_lines(settings)
    assert f"'monitor-m-v1' ({run.info.run_id}" in line
    assert line.endswith("drift_reports/drift_report_9.html, drift_reports/drift_report_19.html")
