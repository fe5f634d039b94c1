"""The buffered window summary hands outcomes over later, and the summary ends the same."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from centinela.drift.exceptions import UnknownClassError
from centinela.drift.summary import WindowSummary
from stream.window_buffer import FLUSH_ROWS, BufferedSummary
from tests.stream.stream_data import trained_model

PROFILE = trained_model().profile
T0, T1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 1, tzinfo=UTC)


def empty() -> WindowSummary:
    return WindowSummary.empty(
        PROFILE, model_version="1", window_id=0, window_start=T0, window_end=T1, exact_cap=50
    )


def calls(n_calls: int, seed: int) -> list[tuple[tuple, dict]]:
    """add_outcomes calls of a few outcomes each: some ids again (the first wins), some with no
    probabilities, some with a challenger's class beside the champion's."""
    rng = np.random.default_rng(seed)
    classes = list(PROFILE.classes)
    made = []
    for call in range(n_calls):
        n = int(rng.integers(1, 8))
        ids = [f"e-{int(i)}" for i in rng.integers(0, 40, n)]
        predicted = [classes[int(i)] for i in rng.integers(0, len(classes), n)]
        labels = [classes[int(i)] for i in rng.integers(0, len(classes), n)]
        proba = None if call % 3 == 0 else rng.dirichlet(np.ones(len(classes)), n)
        delays = rng.uniform(0, 10, n).tolist()
        options = {}
        if call % 4 == 1:
            options = {
                "challenger_versions": [None if i % 2 else "2" for i in range(n)],
                "challenger_predicted": [None if i % 2 else classes[0] for i in range(n)],
            }
        made.append(((ids, predicted, labels, proba, delays), options))
    return made


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_outcomes_handed_over_later_make_the_same_summary(seed):
    direct, buffered = empty(), BufferedSummary(empty(), PROFILE)
    for args, options in calls(30, seed):
        direct.add_outcomes(*args, **options)
        buffered.add_outcomes(*args, **options)
    assert buffered.summary.n_labeled == 0  # still waiting
    assert buffered.n_labeled == direct.n_labeled > 0
    assert buffered.to_dict() == direct.to_dict()


def test_many_outcomes_are_handed_over_without_waiting_for_the_close():
    buffered = BufferedSummary(empty(), PROFILE)
    n = FLUSH_ROWS + 1
    label = PROFILE.classes[0]
    buffered.add_outcomes([f"e-{i}" for i in range(n)], [label] * n, [label] * n, None, [1.0] * n)
    assert buffered.summary.n_labeled == n


def test_an_unknown_class_raises_when_it_comes():
    buffered = BufferedSummary(empty(), PROFILE)
    with pytest.raises(UnknownClassError):
        buffered.add_outcomes(["e-1"], [PROFILE.classes[0]], ["no such class"], None, [1.0])
