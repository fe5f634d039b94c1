"""The challenger's outcomes in a window summary: counted once, merged exactly, serialised, and
reported beside the champion's on the same events."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from functools import reduce

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from centinela.contract.records import DriftReport
from centinela.drift.calculator import compute_drift
from centinela.drift.config import DriftConfig
from centinela.drift.exceptions import DriftError
from centinela.drift.summary import WindowSummary
from centinela.models.profile import ReferenceProfile
from tests.centinela.drift.factories import gaussian_frame, predictions_for
from tests.centinela.drift.test_summary import through_binary, through_json

MakeSummary = Callable[..., WindowSummary]
N = 600


class Truth:
    """Seeded events: the champion's class, the label, and the challenger's class and version
    (None for the events it did not score: before it was loaded, or a batch it failed)."""

    def __init__(self, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.frame = gaussian_frame(N, 2, seed=seed)
        self.champion = predictions_for(self.frame)
        self.labels = np.where(rng.random(N) < 0.25, 1 - self.champion, self.champion)
        self.challenger = np.where(rng.random(N) < 0.15, 1 - self.labels, self.labels)
        self.versions: list[str | None] = [None if i % 5 == 0 else "2" for i in range(N)]

    def fill(self, summary: WindowSummary, rows: np.ndarray) -> None:
        """Events ``rows`` and, for the even ones, their outcomes."""
        ids = [f"e{r}" for r in rows]
        summary.add_events(ids, self.frame.iloc[rows], self.champion[rows])
        labeled = rows[rows % 2 == 0]
        summary.add_outcomes(
            [f"e{r}" for r in labeled],
            self.champion[labeled].tolist(),
            self.labels[labeled].tolist(),
            None,
            [1.0] * labeled.size,
            challenger_versions=[self.versions[r] for r in labeled],
            challenger_predicted=[
                None if self.versions[r] is None else int(self.challenger[r]) for r in labeled
            ],
        )

    def shadowed(self) -> np.ndarray:
        """The labeled events the challenger scored."""
        rows = np.arange(N)
        return rows[(rows % 2 == 0) & np.array([v is not None for v in self.versions])]


def _report(summary: WindowSummary, profile: ReferenceProfile) -> DriftReport:
    return compute_drift(summary, profile, DriftConfig(), model_name="m")


def test_the_challenger_is_measured_on_the_labeled_events_it_scored_beside_the_champion(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile, truth = make_profile(2), Truth()
    summary = make_summary(profile)
    truth.fill(summary, np.arange(N))
    report = _report(summary, profile)
    rows = truth.shadowed()
    assert summary.n_labeled == N // 2 and report.challenger_labeled == rows.size == 240
    y = truth.labels[rows]
    assert report.challenger_version == "2"
    assert report.challenger_performance == pytest.approx(
        {
            "accuracy": accuracy_score(y, truth.challenger[rows]),
            "f1": f1_score(y, truth.challenger[rows]),
        }
    )
    assert report.challenger_paired_champion == pytest.approx(
        {
            "accuracy": accuracy_score(y, truth.champion[rows]),
            "f1": f1_score(y, truth.champion[rows]),
        }
    )
    # Paired: on the challenger's events, not on all the window's outcomes.
    everything = truth.labels[::2] == truth.champion[::2]
    assert report.challenger_paired_champion["accuracy"] != pytest.approx(everything.mean())
    assert report.challenger_performance["accuracy"] > report.challenger_paired_champion["accuracy"]


def test_redelivered_outcomes_count_once_and_merges_are_exact_in_any_order(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile, truth = make_profile(2), Truth()
    whole = make_summary(profile)
    truth.fill(whole, np.arange(N))
    again = make_summary(profile)
    truth.fill(again, np.arange(400))
    truth.fill(again, np.arange(200, N))  # 200..399 redelivered
    assert again.to_dict() == whole.to_dict()
    assert len(whole.challenger_outcomes()["2"]) == 240
    assignment = np.random.default_rng(1).integers(0, 3, N)
    parts = []
    for k in range(3):
        part = make_summary(profile)
        truth.fill(part, np.flatnonzero(assignment == k))
        parts.append(part)
    parts[0].merge(parts[1])  # a merge leaves its parts as they were
    for order in itertools.permutations(parts):
        assert reduce(lambda a, b: a.merge(b), order).to_dict() == whole.to_dict()
        assert order[0].merge(*order[1:]).to_dict() == whole.to_dict()
    # Two workers both counted 0..399 (a rebalance after a crash): once when merged.
    a, b = make_summary(profile), make_summary(profile)
    truth.fill(a, np.arange(400))
    truth.fill(b, np.arange(N))
    merged = a.merge(b)
    assert merged.to_dict() == whole.to_dict()
    expected = _report(whole, profile).model_dump(exclude={"created_at"})
    assert _report(merged, profile).model_dump(exclude={"created_at"}) == expected


@pytest.mark.parametrize("round_trip", [through_json, through_binary], ids=["json", "binary"])
def test_the_challenger_outcomes_survive_serialisation_and_keep_deduplicating(
    make_profile: Callable[..., ReferenceProfile],
    make_summary: MakeSummary,
    round_trip: Callable[[WindowSummary], WindowSummary],
) -> None:
    profile, truth = make_profile(2), Truth()
    summary = make_summary(profile)
    truth.fill(summary, np.arange(300))
    back = round_trip(summary)
    assert back.to_dict() == summary.to_dict()
    assert _report(back, profile).challenger_labeled == _report(summary, profile).challenger_labeled
    truth.fill(back, np.arange(200, N))  # 200..299 again after the restore
    whole = make_summary(profile)
    truth.fill(whole, np.arange(N))
    assert back.to_dict() == whole.to_dict()


def test_without_a_challenger_nothing_changes(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile, truth = make_profile(2), Truth()
    truth.versions = [None] * N
    summary = make_summary(profile)
    truth.fill(summary, np.arange(N))
    plain = make_summary(profile)
    plain.add_events([f"e{r}" for r in range(N)], truth.frame, truth.champion)
    plain.add_outcomes(
        [f"e{r}" for r in range(0, N, 2)],
        truth.champion[::2].tolist(),
        truth.labels[::2].tolist(),
        None,
        [1.0] * (N // 2),
    )
    assert "challengers" not in summary.to_dict()  # the partial is as it was
    assert summary.to_dict() == plain.to_dict()
    report = _report(summary, profile)
    assert report.challenger_version is None and report.challenger_labeled == 0
    assert report.challenger_performance == {} == report.challenger_paired_champion


def test_a_summary_and_a_report_written_before_the_challenger_still_read(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile, truth = make_profile(2), Truth()
    summary = make_summary(profile)
    truth.fill(summary, np.arange(N))
    old = summary.to_dict()
    del old["challengers"]
    back = WindowSummary.from_dict(old)
    assert back.challenger_outcomes() == {} and back.n_labeled == summary.n_labeled
    report = _report(summary, profile)
    older = report.model_dump(mode="json")
    for name in (
        "challenger_version",
        "challenger_labeled",
        "challenger_performance",
        "challenger_paired_champion",
    ):
        del older[name]
    decoded = DriftReport.model_validate_json(json.dumps(older))
    assert decoded.challenger_version is None and decoded.challenger_labeled == 0
    roundtrip = DriftReport.model_validate_json(report.model_dump_json())
    assert roundtrip.challenger_performance == report.challenger_performance


def test_a_window_with_two_challengers_reports_the_one_with_more_labeled_events(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile, truth = make_profile(2), Truth()
    truth.versions = ["3" if 100 <= i < 200 else "2" if i >= 200 else None for i in range(N)]
    summary = make_summary(profile)
    truth.fill(summary, np.arange(N))
    tables = summary.challenger_outcomes()
    assert {v: len(t) for v, t in tables.items()} == {"2": 200, "3": 50}
    report = _report(summary, profile)
    assert (report.challenger_version, report.challenger_labeled) == ("2", 200)
    rows = np.arange(200, N, 2)
    expected = accuracy_score(truth.labels[rows], truth.challenger[rows])
    assert report.challenger_performance["accuracy"] == pytest.approx(expected)


def test_a_challenger_class_the_champion_does_not_know_counts_as_wrong(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile = make_profile(2)
    summary = make_summary(profile)
    frame = gaussian_frame(4, 2, seed=2)
    ids = ["a", "b", "c", "d"]
    summary.add_events(ids, frame, [0, 1, 0, 1])
    summary.add_outcomes(
        ids, [0, 1, 0, 1], [0, 1, 1, 1], None, [0.0] * 4,
        challenger_versions=["2"] * 4, challenger_predicted=[0, "other", 1, 1],
    )  # fmt: skip
    report = _report(summary, profile)
    assert report.challenger_labeled == 4
    assert report.challenger_performance == {"accuracy": 0.75}  # no f1 with an unknown class
    assert report.challenger_paired_champion["accuracy"] == 0.75
    with pytest.raises(DriftError, match="one per outcome"):
        summary.add_outcomes(
            ["e"], [0], [0], None, [0.0], challenger_versions=["2"], challenger_predicted=[]
        )
