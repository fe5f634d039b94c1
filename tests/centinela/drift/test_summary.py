"""WindowSummary: deduplication, exact and order-free merges, the bounded subsample, JSON."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from functools import reduce

import numpy as np
import pandas as pd
import pytest

from centinela.drift.calculator import compute_drift
from centinela.drift.config import DriftConfig
from centinela.drift.exceptions import DriftError, SummaryMismatchError, UnknownClassError
from centinela.drift.summary import WindowSummary
from centinela.models.profile import ReferenceProfile
from stream import blob_json
from tests.centinela.drift.factories import gaussian_frame, predictions_for

MakeSummary = Callable[..., WindowSummary]


def _fill(summary: WindowSummary, frame: pd.DataFrame, rows: np.ndarray) -> None:
    """Add the events in ``rows`` and outcomes for every other one of them."""
    part = frame.iloc[rows]
    ids = [f"e{r}" for r in rows]
    predicted = predictions_for(part)
    summary.add_events(ids, part, predicted)
    labeled = rows[rows % 2 == 0]
    if labeled.size:
        p1 = np.clip(frame["x0"].to_numpy()[labeled] * 0.3 + 0.5, 0.01, 0.99)
        predicted_labeled = predictions_for(frame.iloc[labeled])
        wrong = (labeled * 37) % 10 < 2  # a fixed 20% of rows are misclassified
        labels = np.where(wrong, 1 - predicted_labeled, predicted_labeled)
        summary.add_outcomes(
            [f"e{r}" for r in labeled],
            predicted_labeled,
            labels,
            np.column_stack([1 - p1, p1]),
            (labeled % 7).astype(float),
        )


def _report(summary: WindowSummary, profile: ReferenceProfile) -> dict[str, object]:
    report = compute_drift(summary, profile, DriftConfig(), model_name="m")
    return report.model_dump(exclude={"created_at"})


def test_merging_parts_in_any_order_and_grouping_equals_the_whole(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile = make_profile(4)
    frame = gaussian_frame(900, 4, seed=3, shift={1: 0.3})
    whole = make_summary(profile)
    _fill(whole, frame, np.arange(900))
    rng = np.random.default_rng(0)
    assignment = rng.integers(0, 3, 900)
    parts = []
    for k in range(3):
        part = make_summary(profile)
        rows = np.flatnonzero(assignment == k)
        rng.shuffle(rows)  # arrival order inside a part must not matter either
        for chunk in np.array_split(rows, 4):
            _fill(part, frame, chunk)
        parts.append(part)
    expected = whole.to_dict()
    for order in itertools.permutations(parts):
        left = reduce(lambda a, b: a.merge(b), order)
        right = order[0].merge(order[1].merge(order[2]))
        assert left.to_dict() == expected
        assert right.to_dict() == expected
    for order in itertools.permutations(parts):  # all at once, as the merger does
        assert order[0].merge(*order[1:]).to_dict() == expected
    merged = parts[2].merge(parts[0]).merge(parts[1])
    assert merged.n_events == 900 and merged.n_labeled == 450
    assert _report(merged, profile) == _report(whole, profile)


def test_redelivered_events_and_outcomes_count_once(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile = make_profile(3)
    frame = gaussian_frame(300, 3, seed=4)
    once = make_summary(profile)
    _fill(once, frame, np.arange(300))
    twice = make_summary(profile)
    _fill(twice, frame, np.arange(200))
    _fill(twice, frame, np.arange(100, 300))  # 100..199 delivered again
    _fill(twice, frame, np.array([5, 5, 5]))  # duplicates inside one batch
    assert twice.n_events == 300 and twice.n_labeled == 150
    assert twice.to_dict() == once.to_dict()
    # two workers both counted 100..199 (a rebalance after a crash): the merge counts them once
    a, b = make_summary(profile), make_summary(profile)
    _fill(a, frame, np.arange(200))
    _fill(b, frame, np.arange(100, 300))
    assert a.merge(b).to_dict() == once.to_dict()
    assert b.merge(a).to_dict() == once.to_dict()


def test_exact_subsample_is_bounded_deterministic_and_merge_stable(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile = make_profile(2)
    frame = gaussian_frame(1000, 2, seed=5)
    whole = make_summary(profile, exact_cap=100)
    for chunk in np.array_split(np.arange(1000), 10):
        _fill(whole, frame, chunk)
    exact = whole.exact()
    assert len(exact) == 100
    events = whole.events()
    assert np.array_equal(exact.ids, np.sort(events.ids)[:100])  # the 100 smallest id hashes
    # every kept value is the value of its event
    by_id = {f"e{i}": i for i in range(1000)}
    from centinela.drift.layout import event_hashes

    hashes = event_hashes(list(by_id))
    row_of = dict(zip(hashes.tolist(), range(1000), strict=True))
    rows = [row_of[h] for h in exact.ids.tolist()]
    assert np.array_equal(exact.columns[0], frame[["x0", "x1"]].to_numpy()[rows])
    a, b = make_summary(profile, exact_cap=100), make_summary(profile, exact_cap=100)
    _fill(a, frame, np.arange(0, 1000, 2))
    _fill(b, frame, np.arange(1, 1000, 2))
    assert b.merge(a).to_dict() == whole.to_dict()
    assert whole.n_events == 1000  # the histograms still count every event
    assert int(whole.feature_counts(0).sum()) == 1000


def through_json(summary: WindowSummary) -> WindowSummary:
    return WindowSummary.from_dict(json.loads(json.dumps(summary.to_dict())))


def through_binary(summary: WindowSummary) -> WindowSummary:
    """The window partials' form: arrays after the JSON, read back as views of the record."""
    record = blob_json.dumps({"summary": summary.to_dict(binary=True)})
    return WindowSummary.from_dict(blob_json.loads(record)["summary"])


@pytest.mark.parametrize("round_trip", [through_json, through_binary], ids=["json", "binary"])
def test_round_trip_keeps_everything_and_keeps_deduplicating(
    make_profile: Callable[..., ReferenceProfile],
    make_summary: MakeSummary,
    round_trip: Callable[[WindowSummary], WindowSummary],
) -> None:
    profile = make_profile(3)
    frame = gaussian_frame(200, 3, seed=6)
    summary = make_summary(profile)
    _fill(summary, frame, np.arange(150))
    back = round_trip(summary)
    assert back.to_dict() == summary.to_dict()
    assert back.window_start == summary.window_start and back.model_version == "1"
    assert _report(back, profile) == _report(summary, profile)
    _fill(back, frame, np.arange(100, 200))  # 100..149 again after the restore
    whole = make_summary(profile)
    _fill(whole, frame, np.arange(200))
    assert back.to_dict() == whole.to_dict()
    assert round_trip(summary).merge(back).to_dict() == whole.to_dict()


def test_binary_form_carries_no_base64_and_bad_input_is_refused(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    summary = make_summary(make_profile(3))
    _fill(summary, gaussian_frame(200, 3, seed=6), np.arange(150))
    record = blob_json.dumps({"summary": summary.to_dict(binary=True)})
    assert len(record) < 0.8 * len(json.dumps(summary.to_dict()))
    with pytest.raises(ValueError, match="shorter"):
        blob_json.loads(record[:-1])
    with pytest.raises(ValueError, match="bytes after its JSON"):
        blob_json.loads(record + b"x")
    with pytest.raises(DriftError, match="malformed"):
        WindowSummary.from_dict({"format": 1})


def test_counts_codes_and_unseen_categories(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile = make_profile(1)
    frame = pd.DataFrame({"x0": [-10.0, 0.0, 10.0, 10.0], "colour": ["red", "mauve", "red", "?"]})
    summary = make_summary(profile, frame)
    counts = summary.feature_counts(0)
    assert counts.size == 10 and counts[0] == 1 and counts[-1] == 2
    colour = summary.feature_counts(1)  # blue, green, red, unseen
    assert colour.tolist() == [0, 0, 2, 2]
    assert summary.prediction_counts().tolist() == [2, 2]


def test_bad_batches_raise_and_leave_the_summary_unchanged(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile = make_profile(2)
    summary = make_summary(profile)
    good = gaussian_frame(3, 2, seed=1)
    with pytest.raises(UnknownClassError, match="predicted class '7'"):
        summary.add_events(["a", "b", "c"], good, [0, 1, 7])
    bad = good.copy()
    bad.loc[1, "x1"] = np.nan
    with pytest.raises(DriftError, match="finite"):
        summary.add_events(["a", "b", "c"], bad, [0, 1, 1])
    with pytest.raises(DriftError, match="lack the feature"):
        summary.add_events(["a", "b", "c"], good.drop(columns="x1"), [0, 1, 1])
    with pytest.raises(DriftError, match="same length"):
        summary.add_events(["a"], good, [0, 1, 1])
    with pytest.raises(UnknownClassError, match="label"):
        summary.add_outcomes(["a"], [0], ["cat"], None, [1.0])
    assert summary.n_events == 0 and summary.n_labeled == 0
    summary.add_events(["a", "b", "c"], good, [0, 1, 1])  # not marked as seen by the failures
    assert summary.n_events == 3


def test_merge_refuses_other_windows_and_profiles(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile = make_profile(2)
    with pytest.raises(SummaryMismatchError, match="cannot merge window"):
        make_summary(profile, window_id=1).merge(make_summary(profile, window_id=2))
    with pytest.raises(SummaryMismatchError, match="cannot merge window"):
        make_summary(profile, version="1").merge(make_summary(profile, version="2"))
    with pytest.raises(SummaryMismatchError, match="different profiles"):
        make_summary(profile).merge(make_summary(make_profile(2, seed=9)))


def test_errors_are_in_a_fixed_order(
    make_profile: Callable[..., ReferenceProfile], make_summary: MakeSummary
) -> None:
    profile = make_profile(1)
    frame = gaussian_frame(400, 1, seed=8)
    a, b = make_summary(profile), make_summary(profile)
    _fill(a, frame, np.arange(400))
    _fill(b, frame, np.arange(400)[::-1].copy())
    assert a.errors().tolist() == b.errors().tolist()
    assert 0 < int(a.errors().sum()) < 200
