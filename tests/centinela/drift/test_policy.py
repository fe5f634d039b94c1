"""RetrainPolicy: one request per episode, cooldown on event time, minimum labels, evidence."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from centinela.contract.records import DriftReport, FeatureDrift
from centinela.drift.config import PolicyConfig
from centinela.drift.policy import RetrainPolicy
from tests.centinela.drift.factories import T0, WINDOW

FEATURES = ("a", "b", "c")


def _config(**overrides: Any) -> PolicyConfig:
    values: dict[str, Any] = {
        "min_drifted_features": 2,
        "consecutive_windows": 2,
        "cooldown_seconds": 300.0,
        "min_labeled": 100,
        **overrides,
    }
    return PolicyConfig(**values)


def _report(
    window_id: int,
    *,
    drifted: tuple[str, ...] = (),
    concept: bool = False,
    drop: bool = False,
    n_labeled: int = 60,
    version: str = "3",
) -> DriftReport:
    features = tuple(
        FeatureDrift(
            feature=name,
            kind="numeric",
            test="ks",
            statistic=0.3 if name in drifted else 0.01,
            p_value=1e-9 if name in drifted else 0.7,
            psi=0.4 if name in drifted else 0.01,
            distance=0.5,
            drifted=name in drifted,
        )
        for name in FEATURES
    )
    performance = {"accuracy": 0.7 if drop else 0.9, "performance_drop": float(drop)}
    return DriftReport(
        model_name="churn",
        model_version=version,
        window_id=window_id,
        window_start=T0 + window_id * WINDOW,
        window_end=T0 + (window_id + 1) * WINDOW,
        n_events=1000,
        n_labeled=n_labeled,
        features=features,
        performance=performance,
        drifted_features=drifted,
        data_drift=bool(drifted),
        concept_drift=concept or drop,
    )


def _run(policy: RetrainPolicy, reports: list[DriftReport], labeled_from: datetime = T0) -> list:
    return [policy.observe(r, labeled_from=labeled_from) for r in reports]


def test_data_drift_needs_k_features_in_m_consecutive_windows_and_fires_once() -> None:
    policy = RetrainPolicy(_config())
    reports = [
        _report(0),
        _report(1, drifted=("a",)),  # one feature: not enough
        _report(2, drifted=("a", "b")),  # episode starts here (window 1 had drift too)
        _report(3, drifted=("a", "b", "c")),  # second heavy window in a row: fire
        _report(4, drifted=("a", "b")),  # same episode: nothing more
        _report(5, drifted=("b", "c")),
    ]
    requests = _run(policy, reports)
    fired = [k for k, r in enumerate(requests) if r is not None]
    assert fired == [3]
    request = requests[3]
    assert request.request_id == "churn-v3-w1"  # first window of the episode
    assert request.reason == "data_drift" and request.champion_version == "3"
    assert request.train_from == T0 and request.train_until == reports[3].window_end
    evidence = request.evidence
    assert evidence["episode_window_ids"] == [1, 2, 3]
    assert evidence["data_drift_window_ids"] == [2, 3]
    assert set(evidence["drifted_features"]) == {"a", "b", "c"}
    assert evidence["drifted_features"]["a"]["p_value"] == 1e-9
    assert evidence["detector"] == "adwin" and evidence["correction"] == "bonferroni"
    assert evidence["labeled_examples"] == 240


def test_a_gap_breaks_the_streak() -> None:
    policy = RetrainPolicy(_config())
    requests = _run(
        policy,
        [_report(0, drifted=("a", "b")), _report(1), _report(2, drifted=("a", "b"))],
    )
    assert requests == [None, None, None]
    missing_window = RetrainPolicy(_config())  # window 1 never reported: not consecutive
    assert _run(
        missing_window, [_report(0, drifted=("a", "b")), _report(2, drifted=("a", "b"))]
    ) == [
        None,
        None,
    ]


def test_concept_drift_and_performance_drop_fire_at_once() -> None:
    policy = RetrainPolicy(_config())
    requests = _run(policy, [_report(0), _report(1), _report(2, concept=True)])
    assert requests[2] is not None and requests[2].reason == "concept_drift"
    assert requests[2].request_id == "churn-v3-w2"
    other = RetrainPolicy(_config())
    (request,) = _run(other, [_report(7, drop=True, n_labeled=100)])
    assert request is not None and request.reason == "performance_drop"
    assert request.evidence["performance"]["performance_drop"] == 1.0


def test_cooldown_is_measured_on_window_end_times() -> None:
    # five windows of 20 s
    policy = RetrainPolicy(_config(cooldown_seconds=100.0, min_labeled=0))
    first = _run(policy, [_report(0, concept=True)])
    assert first[0] is not None
    # a new episode (window 2) inside the cooldown is held back while it lasts...
    held = _run(policy, [_report(1), *(_report(k, concept=True) for k in (2, 3, 4))])
    assert held == [None, None, None, None]  # window 4 ends at 100 s, the request was at 20 s
    # ...and fires, under the episode's id, once a window ends 100 s after the last request
    later = _run(policy, [_report(5, concept=True)])
    assert later[0] is not None and later[0].request_id == "churn-v3-w2"
    assert _run(policy, [_report(6, concept=True)]) == [None]


def test_minimum_labeled_examples_holds_the_request_until_enough_labels() -> None:
    policy = RetrainPolicy(_config(min_labeled=150))
    labeled_from = T0 + 2 * WINDOW  # labels count from window 2 on
    requests = _run(
        policy,
        [
            _report(0, n_labeled=500),  # before labeled_from: does not count
            _report(1, n_labeled=500),
            _report(2, concept=True, n_labeled=60),
            _report(3, concept=True, n_labeled=60),
            _report(4, concept=True, n_labeled=60),  # 180 >= 150: fire
            _report(5, concept=True, n_labeled=60),
        ],
        labeled_from,
    )
    assert [r is not None for r in requests] == [False, False, False, False, True, False]
    assert requests[4].request_id == "churn-v3-w2"
    assert requests[4].evidence["labeled_examples"] == 180
    assert requests[4].train_from == labeled_from


def test_same_evidence_same_request_id_and_replays_are_ignored() -> None:
    reports = [_report(k, drifted=("a", "b")) for k in range(4)]
    ids = []
    for _ in range(2):  # e.g. a restarted worker re-reading the same windows
        policy = RetrainPolicy(_config())
        ids.append([r.request_id for r in _run(policy, reports) if r is not None])
    assert ids == [["churn-v3-w0"], ["churn-v3-w0"]]
    policy = RetrainPolicy(_config())
    _run(policy, reports[:2])
    assert policy.observe(reports[1], labeled_from=T0) is None  # the same window again


def test_a_new_version_starts_afresh_but_keeps_the_cooldown() -> None:
    policy = RetrainPolicy(_config(cooldown_seconds=30.0, min_labeled=0))
    assert _run(policy, [_report(0, concept=True)])[0] is not None
    # version 4 starts its own windows (ids may restart) and its own episodes
    fresh = _run(
        policy, [_report(0, concept=True, version="4"), _report(1, concept=True, version="4")]
    )
    assert fresh == [None, None]  # its windows end at 20 s and 40 s: within 30 s of 20 s
    request = policy.observe(_report(2, concept=True, version="4"), labeled_from=T0)
    assert request is not None and request.request_id == "churn-v4-w0"


@pytest.mark.parametrize("reason_flags", [{"drifted": ("a",)}, {}])
def test_weak_or_no_evidence_never_fires(reason_flags: dict[str, Any]) -> None:
    policy = RetrainPolicy(_config(consecutive_windows=1))
    assert _run(policy, [_report(k, **reason_flags) for k in range(20)]) == [None] * 20


def test_cooldown_zero_and_min_labeled_zero() -> None:
    policy = RetrainPolicy(_config(cooldown_seconds=0.0, min_labeled=0))
    requests = _run(
        policy,
        [_report(0, concept=True, n_labeled=0), _report(1), _report(2, concept=True, n_labeled=0)],
    )
    assert [r.request_id if r else None for r in requests] == ["churn-v3-w0", None, "churn-v3-w2"]
    assert requests[0].train_until - requests[0].train_from == timedelta(seconds=20)
