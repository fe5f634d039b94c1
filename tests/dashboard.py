"""What the Grafana dashboard in infra/grafana queries, and what a worker's /metrics offers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = Path(__file__).resolve().parents[1] / "infra" / "grafana" / "centinela-dashboard.json"
# The series a Prometheus server stores for each kind of metric family.
SERIES_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def queried_metrics() -> set[str]:
    return {name for expr in dashboard_queries() for name in re.findall(r"centinela_\w+", expr)}


def exposed_series(exposition: str) -> set[str]:
    """Every series name a scrape of this exposition can hold, with or without samples yet."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SERIES_SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names
