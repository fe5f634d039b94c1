"""The multivariate test: PCA reconstruction error of each event, KS against the reference's.

The correlation-shift scenario keeps every marginal and flips one correlation: the multivariate
test must flag the windows after its change point, and no per-feature or prediction test may.
Everything here is seeded and exact (no Kafka, no timing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from centinela.drift.calculator import compute_drift
from centinela.drift.config import DriftConfig
from centinela.drift.summary import WindowSummary
from centinela.models.profile import ReferenceProfile, build_profile
from producers.catalogue import EVENTS_PER_WINDOW, get_scenario
from producers.manifest import GroundTruth
from producers.scenario import ScenarioStream, pre_drift_frame
from stream.alerts import alerts_for
from tests.centinela.drift.factories import T0, WINDOW, gaussian_frame, predictions_for

MakeProfile = Callable[..., ReferenceProfile]
MakeSummary = Callable[..., WindowSummary]
CONFIG = DriftConfig()
CHANGE = 20_000


def correlated_frame(n: int, rho: float, *, seed: int) -> pd.DataFrame:
    """Five N(0, 1) features and a categorical; x1 has correlation ``rho`` with x0."""
    frame = gaussian_frame(n, 5, seed=seed)
    z = frame["x1"].to_numpy()
    frame["x1"] = rho * frame["x0"].to_numpy() + np.sqrt(1 - rho**2) * z
    return frame


@pytest.fixture(scope="module")
def correlated_profile() -> ReferenceProfile:
    frame = correlated_frame(4000, 0.8, seed=0)
    return build_profile(frame, predictions_for(frame), classes=[0, 1], sample_size=2000)


def test_profile_keeps_a_pca_of_the_numeric_features_through_json(
    correlated_profile: ReferenceProfile,
) -> None:
    pca = correlated_profile.pca
    assert pca is not None
    assert 1 <= pca.n_components < len(correlated_profile.numeric_names) == len(pca.mean)
    assert len(pca.reference_errors) == 2000  # the held-out half of 4,000 rows (cap 2,000)
    assert sum(pca.reference_counts) == len(pca.reference_errors)
    text = correlated_profile.to_json()
    assert ReferenceProfile.from_json(text) == correlated_profile
    data = json.loads(text)
    assert isinstance(data["multivariate"]["components"][0][0], float)  # plain numbers
    del data["multivariate"]  # a profile written before the PCA existed
    assert ReferenceProfile.from_json(json.dumps(data)).pca is None


def test_no_pca_with_fewer_than_two_numeric_features() -> None:
    frame = gaussian_frame(500, 1, seed=0)
    assert build_profile(frame, predictions_for(frame), classes=[0, 1]).pca is None
    frame = gaussian_frame(500, 3, seed=0)
    assert (
        build_profile(frame, predictions_for(frame), classes=[0, 1], multivariate=False).pca is None
    )


def test_merged_partitions_give_the_statistic_of_one_summary(
    correlated_profile: ReferenceProfile, make_summary: MakeSummary
) -> None:
    frame = correlated_frame(1500, -0.8, seed=5)
    ids = [f"e{i}" for i in range(len(frame))]
    whole = make_summary(correlated_profile)
    whole.add_events(ids, frame, predictions_for(frame))
    parts = []
    for k, rows in enumerate([np.arange(0, 700), np.arange(600, 1200), np.arange(1100, 1500)]):
        part = make_summary(correlated_profile)  # overlapping rows: events counted twice
        chunk = frame.iloc[rows]
        part.add_events([ids[i] for i in rows], chunk, predictions_for(chunk))
        parts.append(WindowSummary.from_dict(part.to_dict(binary=k == 1)))
    merged = parts[2].merge(parts[0]).merge(parts[1])
    one = compute_drift(whole, correlated_profile, CONFIG, model_name="m").multivariate
    many = compute_drift(merged, correlated_profile, CONFIG, model_name="m").multivariate
    assert one is not None and many is not None
    assert one == many
    assert one.drifted and one.kind == "multivariate"


def test_exact_cap_bounds_the_tested_errors(
    correlated_profile: ReferenceProfile, make_summary: MakeSummary
) -> None:
    frame = correlated_frame(1000, 0.8, seed=6)
    summary = make_summary(correlated_profile, frame, exact_cap=300)
    errors = summary.reconstruction_errors()
    assert errors.size == 300
    assert np.array_equal(errors, summary.events().columns[3][:300])


def test_a_summary_written_before_the_errors_decodes_without_the_test(
    correlated_profile: ReferenceProfile, make_summary: MakeSummary
) -> None:
    summary = make_summary(correlated_profile, correlated_frame(500, 0.8, seed=7))
    data = summary.to_dict()
    data["events"]["columns"] = data["events"]["columns"][:3]
    old = WindowSummary.from_dict(data)
    assert np.isnan(old.events().columns[3]).all()
    report = compute_drift(old, correlated_profile, CONFIG, model_name="m")
    assert report.multivariate is None and report.features  # the other tests still run


def test_stable_window_is_not_flagged(
    correlated_profile: ReferenceProfile, make_summary: MakeSummary
) -> None:
    summary = make_summary(correlated_profile, correlated_frame(2000, 0.8, seed=11))
    report = compute_drift(summary, correlated_profile, CONFIG, model_name="m")
    assert report.multivariate is not None and not report.multivariate.drifted
    assert report.multivariate.p_value is not None and report.multivariate.p_value > 0.01
    assert not alerts_for(report)


def test_few_events_withhold_the_multivariate_verdict(
    correlated_profile: ReferenceProfile, make_summary: MakeSummary
) -> None:
    summary = make_summary(correlated_profile, correlated_frame(99, -0.99, seed=12))
    report = compute_drift(summary, correlated_profile, CONFIG, model_name="m")
    assert "data" in report.verdicts_withheld
    assert report.multivariate is None
    assert not any(a.kind == "multivariate_drift" for a in alerts_for(report))


def test_a_profile_without_pca_reports_no_multivariate_test(
    correlated_profile: ReferenceProfile, make_summary: MakeSummary
) -> None:
    plain = replace(correlated_profile, pca=None)
    summary = make_summary(plain, correlated_frame(500, -0.8, seed=13))
    assert np.isnan(summary.events().columns[3]).all()
    assert compute_drift(summary, plain, CONFIG, model_name="m").multivariate is None


# --- the correlation-shift scenario -------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario_windows() -> tuple[ReferenceProfile, LogisticRegression, list[WindowSummary]]:
    """A champion trained on the scenario's pre-drift rows, its profile on others, and the
    windows of events 12,000-28,000 (four before the change point, four after)."""
    scenario = get_scenario("correlation-shift")
    frame, labels = pre_drift_frame(scenario, 16_000, seed=0)
    model = LogisticRegression(max_iter=1000).fit(frame.iloc[:8000], labels[:8000])
    reference = frame.iloc[8000:]
    profile = build_profile(
        reference,
        model.predict(reference),
        classes=[0, 1],
        labels=labels[8000:],
        probabilities=model.predict_proba(reference),
    )
    stream = ScenarioStream(scenario, seed=3)
    blocks = [stream.next_block() for _ in range(28)]
    windows = []
    for w in range(6, 14):
        chosen = [b for b in blocks[w * 2 : w * 2 + 2] if b is not None]
        events = pd.DataFrame(
            {
                name: np.concatenate([b.features[name] for b in chosen]).astype(np.float64)
                for name in stream.feature_names
            }
        )
        summary = WindowSummary.empty(
            profile,
            model_version="1",
            window_id=w,
            window_start=T0 + w * WINDOW,
            window_end=T0 + (w + 1) * WINDOW,
            exact_cap=20_000,
        )
        ids = [f"ev{w * EVENTS_PER_WINDOW + i}" for i in range(len(events))]
        summary.add_events(ids, events, model.predict(events), model.predict_proba(events))
        windows.append(summary)
    return profile, model, windows


def test_the_scenario_flips_a_correlation_and_keeps_every_marginal() -> None:
    scenario = get_scenario("correlation-shift")
    assert scenario.first_change == CHANGE and CHANGE % EVENTS_PER_WINDOW == 0
    stream = ScenarioStream(scenario, seed=1)
    blocks = [stream.next_block() for _ in range(40)]
    x10 = np.concatenate([b.features["x10"] for b in blocks if b is not None]).astype(float)
    x11 = np.concatenate([b.features["x11"] for b in blocks if b is not None]).astype(float)
    before, after = slice(0, CHANGE), slice(CHANGE, 2 * CHANGE)
    assert np.corrcoef(x10[before], x11[before])[0, 1] == pytest.approx(0.8, abs=0.02)
    assert np.corrcoef(x10[after], x11[after])[0, 1] == pytest.approx(-0.8, abs=0.02)
    mean, sd = stream.source.feature_stats()["x11"]
    for part in (before, after):
        assert x11[part].mean() == pytest.approx(mean, abs=0.05 * sd)
        assert x11[part].std() == pytest.approx(sd, rel=0.03)
    truth = GroundTruth(list(scenario.drifts), []).entries(events_sent=40_000)
    assert truth[0]["kind"] == "correlation" and truth[0]["start_index"] == CHANGE
    assert truth[0]["params"] == {"features": ["x10", "x11"], "rho": -0.8}


def test_only_the_multivariate_test_flags_the_correlation_shift(
    scenario_windows: tuple[ReferenceProfile, LogisticRegression, list[WindowSummary]],
) -> None:
    profile, _, windows = scenario_windows
    assert profile.pca is not None
    for summary in windows:
        report = compute_drift(summary, profile, CONFIG, model_name="m")
        after = summary.window_id * EVENTS_PER_WINDOW >= CHANGE
        assert report.multivariate is not None
        assert report.multivariate.drifted is after, summary.window_id
        assert not any(f.drifted for f in report.features), summary.window_id
        assert report.prediction is not None and not report.prediction.drifted
        assert not report.data_drift and report.drifted_features == ()
        kinds = [a.kind for a in alerts_for(report)]
        assert kinds == (["multivariate_drift"] if after else [])
