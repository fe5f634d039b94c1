"""RetrainPolicy: triggers on impact, one request per episode and trigger, cooldown on event time
with stronger triggers superseding, minimum labels, evidence."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from centinela.contract.records import DriftReport, FeatureDrift
from centinela.drift.config import PolicyConfig
from centinela.drift.policy import TRIGGERS, RetrainPolicy
from stream.alerts import alerts_for
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
    sequential: bool = False,
    estimated: bool = False,
    n_labeled: int = 60,
    version: str = "3",
    withheld: tuple[str, ...] = (),
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
    if sequential:
        performance["sequential_drift"] = 1.0
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
        concept_drift=concept or drop or sequential,
        verdicts_withheld=withheld,  # type: ignore[arg-type]
        estimated_drop=estimated,
    )


def _run(policy: RetrainPolicy, reports: list[DriftReport], labeled_from: datetime = T0) -> list:
    return [policy.observe(r, labeled_from=labeled_from) for r in reports]


def test_data_drift_needs_k_features_in_m_consecutive_windows_and_fires_once() -> None:
    policy = RetrainPolicy(_config(retrain_on_data_drift=True))
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
    assert "supersedes" not in evidence


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
        policy = RetrainPolicy(_config(retrain_on_data_drift=True))
        ids.append([r.request_id for r in _run(policy, reports) if r is not None])
    assert ids == [["churn-v3-w0"], ["churn-v3-w0"]]
    policy = RetrainPolicy(_config(retrain_on_data_drift=True))
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


def test_a_covariate_only_episode_alerts_but_asks_for_no_challenger_by_default() -> None:
    assert PolicyConfig().retrain_on_data_drift is False
    policy = RetrainPolicy(_config())
    reports = [_report(0), *(_report(k, drifted=("a", "b", "c")) for k in range(1, 12))]
    assert _run(policy, reports) == [None] * len(reports)
    alerts = [alert.kind for report in reports for alert in alerts_for(report)]
    assert alerts == ["data_drift"] * 11  # every drifted window is alerted
    # the same windows with the old behaviour restored: one request
    restored = RetrainPolicy(_config(retrain_on_data_drift=True))
    requests = [r for r in _run(restored, reports) if r is not None]
    assert [(r.request_id, r.reason) for r in requests] == [("churn-v3-w1", "data_drift")]


def test_a_concept_change_in_the_cooldown_of_a_data_drift_request_supersedes_it() -> None:
    policy = RetrainPolicy(_config(retrain_on_data_drift=True, cooldown_seconds=3600.0))
    heavy = ("a", "b")
    requests = _run(
        policy,
        [
            _report(0, drifted=heavy),
            _report(1, drifted=heavy),  # data drift request churn-v3-w0
            _report(2, drifted=heavy),
            _report(3, drifted=heavy, concept=True),  # stronger, inside the cooldown: fires
            _report(4, drifted=heavy, concept=True),  # same trigger again: nothing
            _report(5),  # the episode ends
            _report(6, concept=True),  # a new episode, same trigger, same cooldown: nothing
            _report(7, drop=True),  # weaker than the trigger of the cooldown: nothing
        ],
    )
    fired = [(k, r) for k, r in enumerate(requests) if r is not None]
    assert [k for k, _ in fired] == [1, 3]
    first, second = fired[0][1], fired[1][1]
    assert (first.request_id, first.reason) == ("churn-v3-w0", "data_drift")
    assert (second.request_id, second.reason) == ("churn-v3-w0-concept_drift", "concept_drift")
    assert second.evidence["supersedes"] == "churn-v3-w0"
    assert second.evidence["trigger_window_id"] == 3 and second.evidence["sequential_drift"]
    assert second.train_from == T0 and second.train_until == T0 + 4 * WINDOW
    # the same windows again (a restarted merger) name the same two requests
    again = RetrainPolicy(_config(retrain_on_data_drift=True, cooldown_seconds=3600.0))
    replayed = _run(again, [_report(k, drifted=heavy, concept=k == 3) for k in range(4)])
    assert [r.request_id for r in replayed if r] == ["churn-v3-w0", "churn-v3-w0-concept_drift"]


def test_triggers_are_ordered_and_only_a_stronger_one_breaks_the_cooldown() -> None:
    assert TRIGGERS == ("data_drift", "estimated_drop", "performance_drop", "concept_drift")
    policy = RetrainPolicy(_config(cooldown_seconds=3600.0, min_labeled=0))
    requests = _run(
        policy,
        [
            _report(0, drop=True),  # performance drop: fires
            _report(1),
            _report(2, drop=True),  # new episode, equal trigger, in the cooldown: nothing
            _report(3, sequential=True),  # the sequential detector: stronger, fires
            _report(4),
            _report(5, drop=True, sequential=True),  # equal to the last: nothing
        ],
    )
    fired = [(r.request_id, r.reason, r.evidence.get("supersedes")) for r in requests if r]
    assert fired == [
        ("churn-v3-w0", "performance_drop", None),
        ("churn-v3-w2", "concept_drift", "churn-v3-w0"),
    ]


def test_a_window_with_both_flags_triggers_as_the_stronger() -> None:
    policy = RetrainPolicy(_config(min_labeled=0))
    (request,) = _run(policy, [_report(0, drop=True, sequential=True)])
    assert request is not None and request.reason == "concept_drift"
    later = _run(policy, [_report(1, drop=True), _report(2, sequential=True)])
    assert later == [None, None]  # nothing stronger than concept drift


def test_after_the_cooldown_an_equal_trigger_fires_without_superseding() -> None:
    policy = RetrainPolicy(_config(cooldown_seconds=40.0, min_labeled=0))
    requests = _run(policy, [_report(0, drop=True), _report(1), _report(2), _report(3, drop=True)])
    assert [r.request_id if r else None for r in requests] == [
        "churn-v3-w0", None, None, "churn-v3-w3"
    ]  # fmt: skip
    assert "supersedes" not in requests[3].evidence


def test_a_stronger_trigger_held_for_labels_still_supersedes_when_they_come() -> None:
    policy = RetrainPolicy(_config(cooldown_seconds=3600.0, min_labeled=150))
    requests = _run(policy, [_report(0, drop=True, n_labeled=200)])
    requests += _run(
        policy,
        [
            _report(1),
            _report(2, sequential=True, n_labeled=100),  # 100 labels since window 2: waits
            _report(3, sequential=True, n_labeled=100),  # 200: fires, superseding
        ],
        labeled_from=T0 + 2 * WINDOW,
    )
    assert [r.request_id if r else None for r in requests] == [
        "churn-v3-w0", None, None, "churn-v3-w2"
    ]  # fmt: skip
    assert requests[3].evidence["supersedes"] == "churn-v3-w0"


def test_a_window_without_a_data_verdict_neither_extends_nor_breaks_a_streak() -> None:
    policy = RetrainPolicy(_config(retrain_on_data_drift=True))
    requests = _run(
        policy,
        [
            _report(0, drifted=("a", "b")),
            _report(1, n_labeled=0, withheld=("data", "performance")),  # 2 events: no verdict
            _report(2, drifted=("a", "b")),  # second heavy window of the streak: fires
        ],
    )
    assert [r is not None for r in requests] == [False, False, True]
    assert requests[2].request_id == "churn-v3-w0"
    assert requests[2].evidence["data_drift_window_ids"] == [0, 2]


def test_an_estimated_drop_asks_before_labels_and_a_realised_drop_supersedes_it() -> None:
    policy = RetrainPolicy(_config(cooldown_seconds=3600.0, min_labeled=0))
    requests = _run(
        policy,
        [
            _report(0, drifted=("f0",), estimated=True),  # impact estimated: fires
            _report(1),
            _report(2, estimated=True),  # equal trigger in the cooldown: nothing
            _report(3),
            _report(4, drop=True),  # realised: stronger, fires at once
        ],
    )
    fired = [(r.request_id, r.reason, r.evidence.get("supersedes")) for r in requests if r]
    assert fired == [
        ("churn-v3-w0", "estimated_drop", None),
        ("churn-v3-w4", "performance_drop", "churn-v3-w0"),
    ]
