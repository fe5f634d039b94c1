"""The HTML drift report logged to MLflow: its numbers are the DriftReports', and it fetches
nothing when opened."""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from centinela.contract.records import DriftReport, FeatureDrift, RetrainRequest
from stream.alerts import alerts_for
from stream.monitoring import MonitoringLogger
from stream.prometheus import StreamMetrics
from tests.stream.test_sinks import T0, drift_reports, reports_settings, wait


class ReportPage(HTMLParser):
    """Rows by kind, each a dict of its cells' ``data-field`` -> ``data-value`` (plus the row's
    own data attributes); the addresses the page would load; its scripts and images."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.addresses: list[str] = []
        self.images: list[str] = []
        self.tags: set[str] = set()
        self._row: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self.tags.add(tag)
        self.addresses += [found[a] for a in ("src", "href") if a in found]
        if tag == "img":
            self.images.append(found["src"])
        if tag == "tr" and "data-kind" in found:
            self._row = {k.removeprefix("data-"): v for k, v in found.items() if k != "class"}
            self.rows[found["data-kind"]].append(self._row)
        if tag == "td" and self._row is not None and "data-value" in found:
            self._row[found["data-field"]] = found["data-value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None


def window_report(window: int, rng: np.random.Generator) -> DriftReport:
    p_values = rng.uniform(0, 1, 4)
    p_values[0] = 1e-6 if window == 1 else p_values[0]
    features = tuple(
        FeatureDrift(
            feature=f"x{i}",
            kind="numeric",
            test="ks",
            statistic=float(rng.uniform()),
            p_value=float(p),
            psi=float(rng.uniform()),
            drifted=bool(p < 0.001),
        )
        for i, p in enumerate(p_values)
    )
    drifted = tuple(f.feature for f in features if f.drifted)
    prediction = FeatureDrift(
        feature="prediction", kind="prediction", test="chi2", statistic=3.5, p_value=0.2,
        drifted=False,
    )  # fmt: skip
    return DriftReport(
        model_name="m",
        model_version="3",
        window_id=window,
        window_start=T0 + timedelta(minutes=window),
        window_end=T0 + timedelta(minutes=window + 1),
        n_events=int(rng.integers(100, 5000)),
        n_labeled=int(rng.integers(0, 100)),
        features=features,
        prediction=prediction,
        performance={"accuracy": float(rng.uniform()), "f1_macro": float(rng.uniform())},
        estimated_performance={"accuracy": float(rng.uniform())},
        data_drift=bool(drifted),
        drifted_features=drifted,
        late_events=window,
    )


def test_the_html_report_holds_every_number_of_its_windows_and_fetches_nothing(
    mlflow_store: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(4)
    reports = [window_report(w, rng) for w in range(3)]
    request = RetrainRequest(
        request_id="m:3:1",
        model_name="m",
        champion_version="3",
        reason="data_drift",
        train_from=T0,
        train_until=T0 + timedelta(minutes=2),
    )
    logger = MonitoringLogger(reports_settings(mlflow_store, tmp_path, 3), StreamMetrics())
    logger.start()
    try:
        for r in reports:
            assert logger.submit(r, alerts_for(r), request if r.window_id == 1 else None)
        wait(lambda: logger.logged == 3)
    finally:
        logger.stop()
    html = drift_reports(mlflow_store, tmp_path / "downloaded")["drift_report_2.html"]
    page = ReportPage()
    page.feed(html.read_text(encoding="utf-8"))

    # Nothing is loaded from anywhere: no scripts, no style sheets, only an inlined PNG.
    assert not {"script", "link", "iframe"} & page.tags
    assert page.addresses == page.images
    [image] = page.images
    assert base64.b64decode(image.removeprefix("data:image/png;base64,")).startswith(b"\x89PNG")

    windows = {int(row["window"]): row for row in page.rows["window"]}
    assert sorted(windows) == [0, 1, 2]
    for r in reports:
        row = windows[r.window_id]
        assert int(row["n_events"]) == r.n_events and int(row["n_labeled"]) == r.n_labeled
        assert row["data_drift"] == str(r.data_drift) and int(row["late_events"]) == r.late_events
        for metric, value in r.performance.items():
            assert float(row[f"performance.{metric}"]) == value
        assert float(row["estimated.accuracy"]) == r.estimated_performance["accuracy"]

    tests = {(int(row["window"]), row["feature"]): row for row in page.rows["test"]}
    assert len(tests) == sum(len(r.features) + 1 for r in reports)  # + the prediction
    for r in reports:
        for test in (*r.features, r.prediction):
            assert test is not None
            row = tests[(r.window_id, test.feature)]
            assert float(row["statistic"]) == test.statistic
            assert float(row["p_value"]) == test.p_value
            assert row["drifted"] == str(test.drifted)

    raised = [(a.window_id, a.kind) for r in reports for a in alerts_for(r)]
    assert raised == [(1, "data_drift")]  # the planted drift, and only it
    assert [(int(row["window"]), row["window_id"]) for row in page.rows["alert"]] == [(1, "1")]
    assert [int(row["window"]) for row in page.rows["request"]] == [1]
    assert "m:3:1" in html.read_text()
