"""The stream's running always-valid comparison of challenger and champion: window counts
add up to the comparison of all their events, a window reported twice counts once, and a new
owner of the merger resumes from the last published report."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from centinela.contract.records import DriftReport
from centinela.contract.settings import Settings
from centinela.models.live_comparison import LiveComparison
from stream.challenger_evidence import ChallengerEvidence
from stream.reporting import WindowReporter

T = datetime(2026, 1, 1, tzinfo=UTC)


def window(window_id: int, counts: dict[str, int], *, champion: str = "1",
           challenger: str | None = "2") -> DriftReport:  # fmt: skip
    return DriftReport(
        model_name="m", model_version=champion, window_id=window_id, window_start=T,
        window_end=T, n_events=100, n_labeled=sum(counts.values()),
        challenger_version=challenger,
        challenger_labeled=sum(counts.values()), challenger_paired_counts=counts,
    )  # fmt: skip


def random_windows(seed: int, n: int) -> tuple[list[dict[str, int]], list[int], list[int]]:
    """Per-window counts of paired errors, and the errors themselves (champion, challenger)."""
    rng = np.random.default_rng(seed)
    counts, champion, challenger = [], [], []
    for _ in range(n):
        size = int(rng.integers(20, 200))
        theirs = (rng.random(size) < 0.2).astype(int)  # the champion wrong on 20%
        ours = (rng.random(size) < 0.3).astype(int)  # the challenger on 30%
        champion += theirs.tolist()
        challenger += ours.tolist()
        counts.append({
            "challenger_only_right": int(np.sum((theirs == 1) & (ours == 0))),
            "champion_only_right": int(np.sum((theirs == 0) & (ours == 1))),
            "both_same": int(np.sum(theirs == ours)),
        })  # fmt: skip
    return counts, champion, challenger


def test_window_by_window_it_is_the_comparison_of_every_event_so_far() -> None:
    counts, champion, challenger = random_windows(seed=3, n=12)
    evidence = ChallengerEvidence(alpha=0.05)
    shown = [evidence.observe(window(i, c)).challenger_live for i, c in enumerate(counts)]
    whole = LiveComparison(alpha=0.05)
    whole.update(champion, challenger)
    assert shown[-1]["events"] == len(champion) == whole.n
    assert shown[-1]["interval_low"] == whole.interval()[0]
    assert shown[-1]["verdict"] == whole.verdict() == "worse"
    assert [s["through_window"] for s in shown] == list(range(12))
    assert [s["events"] for s in shown] == list(np.cumsum([sum(c.values()) for c in counts]))
    # The verdict may change only as evidence comes; "worse" is reached before the last window.
    assert shown[0]["verdict"] == "not yet known"


def test_a_window_reported_again_is_not_counted_twice() -> None:
    counts, _, _ = random_windows(seed=4, n=3)
    evidence = ChallengerEvidence(alpha=0.05)
    for i, c in enumerate(counts):
        first = evidence.observe(window(i, c)).challenger_live
    again = evidence.observe(window(2, counts[2])).challenger_live
    assert again == first


def test_pairs_are_kept_apart_and_a_window_without_a_challenger_is_left_alone() -> None:
    evidence = ChallengerEvidence(alpha=0.05)
    counts = {"challenger_only_right": 5, "champion_only_right": 1, "both_same": 10}
    evidence.observe(window(0, counts))
    other = evidence.observe(window(1, counts, challenger="3")).challenger_live
    assert other["events"] == 16  # version 3's own
    plain = window(2, {}, challenger=None)
    assert evidence.observe(plain) == plain


def test_a_new_owner_of_the_merger_resumes_from_the_published_reports() -> None:
    counts, _, _ = random_windows(seed=5, n=8)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    one_owner = WindowReporter(settings, profile_of=lambda v: None)  # type: ignore[arg-type,return-value]
    published = [one_owner.evidence.observe(window(i, c)) for i, c in enumerate(counts[:5])]
    later_owner = WindowReporter(settings, profile_of=lambda v: None)  # type: ignore[arg-type,return-value]
    assert later_owner.restore([*published, published[-1]]) == 5
    for i, c in enumerate(counts[5:], start=5):
        expected = one_owner.evidence.observe(window(i, c)).challenger_live
        assert later_owner.evidence.observe(window(i, c)).challenger_live == expected
    resumed = later_owner.evidence.running("1", "2")
    assert resumed is not None and resumed.n == sum(sum(c.values()) for c in counts)
