"""The retrain policy survives a restart or a move: the merger's new owner replays the reports
already on the drift topic and goes on as if it had written them."""

from __future__ import annotations

from centinela.contract.records import DriftReport, RetrainRequest
from centinela.contract.settings import Settings
from stream.reporting import WindowReporter
from tests.centinela.drift.test_policy import _report

SETTINGS = Settings(
    _env_file=None,  # type: ignore[call-arg]
    window_seconds=20.0,
    policy_cooldown_seconds=3600.0,
    policy_min_labeled=100,
)


def _reporter() -> WindowReporter:
    def no_profiles(version: str) -> None:
        raise AssertionError("restoring the policy needs no profile")

    return WindowReporter(SETTINGS, no_profiles)  # type: ignore[arg-type]


def _observe(reporter: WindowReporter, reports: list[DriftReport]) -> list[RetrainRequest]:
    requests = []
    for report in reports:
        request = reporter.policy.observe(report, labeled_from=reporter._labeled_from(report))
        if request is not None:
            requests.append(request)
    return requests


def _episode() -> list[DriftReport]:
    """A performance drop that lasts, a calm window, and the drop again within the cooldown."""
    return [
        _report(0),
        _report(1, drop=True),
        _report(2, drop=True),
        _report(3, drop=True),
        _report(4),
        _report(5, drop=True),
        _report(6, drop=True),
    ]


def test_a_new_owner_asks_for_no_second_challenger_for_the_same_drift() -> None:
    reports = _episode()
    one_owner = _reporter()
    fired_at = {
        report.window_id: request.request_id
        for report in reports
        if (
            request := one_owner.policy.observe(
                report, labeled_from=one_owner._labeled_from(report)
            )
        )
    }
    assert list(fired_at.values()) == ["churn-v3-w1"]  # one owner throughout: one request

    for cut in range(1, len(reports)):
        restored = _reporter()
        assert restored.restore(reports[:cut]) == cut
        after = [r.request_id for r in _observe(restored, reports[cut:])]
        # Exactly what the first owner still had to ask for, under the same id; nothing more.
        assert after == [rid for window, rid in fired_at.items() if window >= cut], cut


def test_without_the_replay_a_new_owner_would_ask_again() -> None:
    """What the replay prevents: a fresh policy opens a new episode with a new request id."""
    reports = _episode()
    fresh = _reporter()
    assert [r.request_id for r in _observe(fresh, reports[2:])] == [
        reports[2].model_name + "-v3-w2"
    ]


def test_a_report_sent_twice_counts_once() -> None:
    reports = _episode()
    twice = [*reports[:3], reports[1], reports[2], reports[3]]
    restored = _reporter()
    assert restored.restore(twice) == 4
    assert _observe(restored, reports[4:]) == []


def test_a_request_on_a_performance_drop_trains_from_the_drop_not_the_covariate_shift() -> None:
    """The covariate jump opens the drift episode; the concept change comes later. The
    challenger must learn the new concept: its data starts where the drop starts."""
    reporter = _reporter()
    shifted = ("a", "b")
    reports = [
        _report(0),
        *[_report(w, drifted=shifted) for w in (1, 2, 3)],
        *[_report(w, drifted=shifted, drop=True) for w in (4, 5, 6)],
    ]
    [request] = _observe(reporter, reports)
    assert request.reason == "performance_drop"
    assert request.train_from == reports[4].window_start
    assert request.request_id.endswith("-w1")  # the id still names the episode


def test_the_concept_detector_is_rebuilt_from_the_reports() -> None:
    """A new owner's detector remembers the old error rate: a change right after the move is
    seen, where a detector starting afresh on the new rate alone sees nothing."""
    import random

    rng = random.Random(4)
    live = _reporter()
    reports = []
    for window in range(30):  # 30 windows of 1,000 outcomes, 10% wrong
        errors = [int(rng.random() < 0.1) for _ in range(1000)]
        live._monitor("3").update(errors)
        accuracy = 1 - sum(errors) / len(errors)
        report = _report(window, n_labeled=1000)
        reports.append(
            report.model_copy(update={"performance": {"accuracy": accuracy, "performance_drop": 0}})
        )
    restored, fresh = _reporter(), _reporter()
    restored.restore(reports)
    rebuilt, original = restored._monitor("3"), live._monitor("3")
    assert rebuilt.n_seen == original.n_seen == 30_000
    estimation = rebuilt._detector.estimation
    assert abs(estimation - original._detector.estimation) < 0.005
    changed = [int(rng.random() < 0.3) for _ in range(1000)]  # the concept changes at the move
    assert rebuilt.update(changed)
    assert not fresh._monitor("3").update(changed)
