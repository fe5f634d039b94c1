"""The Grafana dashboard is valid and queries only metrics the worker declares.

A live worker's /metrics is checked against it in tests/stream/test_worker_integration.py.
"""

from __future__ import annotations

import json

from stream.prometheus import StreamMetrics
from tests.dashboard import DASHBOARD, dashboard_queries, exposed_series, queried_metrics


def test_every_panel_has_a_prometheus_query_on_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]


def test_the_dashboard_covers_what_the_issue_asked_for() -> None:
    wanted = {  # throughput, latency, drift flags, join backlog, dead letters, model version
        "centinela_events_total",
        "centinela_scoring_latency_seconds_bucket",
        "centinela_drift_flag",
        "centinela_join_pending_events",
        "centinela_dead_letters_total",
        "centinela_model_version",
    }
    assert wanted <= queried_metrics()
    assert any("by (reason)" in expr for expr in dashboard_queries())


def test_every_queried_metric_is_declared_by_the_worker() -> None:
    declared = exposed_series(StreamMetrics().render().decode())
    assert queried_metrics() - declared == set()


def test_a_misspelt_metric_would_be_caught() -> None:
    declared = exposed_series(StreamMetrics().render().decode())
    assert "centinela_event_total" not in declared  # the check above is not vacuous
    assert "centinela_scoring_latency_seconds_bucket" in declared
