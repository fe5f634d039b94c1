"""The live comparison's sequential test: its error rate under continuous monitoring, its power,
and its state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from centinela.models.live_comparison import LiveComparison

SEEDS, WINDOWS, WINDOW = 300, 40, 100


def _paired(rng: np.random.Generator, champion_rate: float, challenger_rate: float, n: int):
    shared = rng.random(n)  # both models err on the same hard events, partly
    champion = ((shared < champion_rate) ^ (rng.random(n) < 0.05)).astype(int)
    challenger = ((shared < challenger_rate) ^ (rng.random(n) < 0.05)).astype(int)
    return champion, challenger


def _naive_z_test_rejects(champion: np.ndarray, challenger: np.ndarray) -> bool:
    """The fixed-sample paired z-test at 0.05, wrongly checked after every window."""
    d = champion - challenger
    sd = d.std(ddof=1)
    return bool(sd > 0 and abs(d.mean()) / (sd / math.sqrt(d.size)) > 1.96)


def test_equal_models_reach_a_verdict_no_more_often_than_alpha_when_checked_every_window() -> None:
    rng = np.random.default_rng(11)
    ours = naive = 0
    for _ in range(SEEDS):
        comparison = LiveComparison(alpha=0.05)
        champion_all, challenger_all = [], []
        ours_fired = naive_fired = False
        for _ in range(WINDOWS):
            champion, challenger = _paired(rng, 0.2, 0.2, WINDOW)
            comparison.update(champion, challenger)
            champion_all.append(champion)
            challenger_all.append(challenger)
            ours_fired = ours_fired or comparison.verdict() != "not yet known"
            naive_fired = naive_fired or _naive_z_test_rejects(
                np.concatenate(champion_all), np.concatenate(challenger_all)
            )
        ours += ours_fired
        naive += naive_fired
    allowed = 0.05 * SEEDS + 3 * math.sqrt(SEEDS * 0.05 * 0.95)  # level + 3 sd of the count
    assert ours <= allowed, f"{ours} of {SEEDS} equal pairs got a verdict"
    # The simulation can catch a test that is not always valid: the naive one is far above.
    assert naive > allowed, f"the naive test fired on {naive} of {SEEDS} only"


@pytest.mark.parametrize(
    ("champion_rate", "challenger_rate", "expected"),
    [(0.30, 0.20, "better"), (0.20, 0.30, "worse")],
)
def test_a_real_difference_of_ten_points_is_found_within_two_thousand_events(
    champion_rate: float, challenger_rate: float, expected: str
) -> None:
    for seed in range(5):
        rng = np.random.default_rng(seed)
        comparison = LiveComparison()
        while comparison.verdict() == "not yet known":
            assert comparison.n < 2000, f"seed {seed}: no verdict after {comparison.n} events"
            comparison.update(*_paired(rng, champion_rate, challenger_rate, WINDOW))
        assert comparison.verdict() == expected
        low, high = comparison.interval()
        truth = champion_rate - challenger_rate
        assert low <= truth <= high


def test_merged_partitions_equal_one_stream_and_the_state_is_three_counts() -> None:
    rng = np.random.default_rng(3)
    champion, challenger = _paired(rng, 0.25, 0.2, 3000)
    whole = LiveComparison()
    whole.update(champion, challenger)
    first, second = LiveComparison(), LiveComparison()
    first.update(champion[:1234], challenger[:1234])
    second.update(champion[1234:], challenger[1234:])
    first.merge(second)
    assert first == whole and first.interval() == whole.interval()
    assert whole.n == 3000
    assert whole.difference() == pytest.approx(challenger.size and (champion - challenger).mean())
    summary = whole.to_dict()
    assert summary["events"] == 3000 and summary["verdict"] == whole.verdict()


def test_unpaired_errors_are_refused() -> None:
    with pytest.raises(ValueError, match="paired"):
        LiveComparison().update([0, 1], [1])
