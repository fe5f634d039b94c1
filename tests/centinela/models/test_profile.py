"""The reference profile: kinds, bins, categories, sample, prediction counts, metrics, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from centinela.exceptions import CentinelaError, ProfileError
from centinela.models.profile import PROFILE_ARTIFACT, FeatureSpec, ReferenceProfile, build_profile


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "count": rng.integers(0, 3, size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "kind": pd.Series(rng.choice(["a", "b"], size=n), dtype="category"),
        }
    )


def test_artifact_name_is_the_agreed_one() -> None:
    assert PROFILE_ARTIFACT == "reference_profile.json"


def test_kinds_follow_dtypes_and_histograms_cover_every_row() -> None:
    frame = _frame(1000)
    profile = build_profile(frame, np.zeros(1000, dtype=int), classes=[0, 1], n_bins=10)
    assert profile.feature_names == ("x", "count", "colour", "kind")
    assert [profile.spec(n).kind for n in profile.feature_names] == [
        "numeric",
        "numeric",
        "categorical",
        "categorical",
    ]
    x = profile.spec("x")
    assert len(x.bin_edges) == 9 and list(x.bin_edges) == sorted(x.bin_edges)
    assert sum(x.reference_counts) == 1000 and len(x.reference_counts) == 10
    assert max(x.reference_counts) - min(x.reference_counts) <= 2  # quantile bins: balanced
    # a discrete feature collapses duplicate quantile edges
    count = profile.spec("count")
    assert count.bin_edges == (0.0, 1.0, 2.0) and sum(count.reference_counts) == 1000
    assert count.reference_counts == (*np.bincount(frame["count"], minlength=3).tolist(), 0)
    colour = profile.spec("colour")
    assert colour.categories == ("blue", "green", "red")
    assert colour.reference_counts == tuple(
        int((frame["colour"] == c).sum()) for c in colour.categories
    )
    assert profile.spec("kind").categories == ("a", "b")
    assert profile.numeric_names == ("x", "count")
    assert profile.categorical_names == ("colour", "kind")


def test_sample_is_fixed_size_reproducible_and_row_aligned() -> None:
    frame = _frame(5000, seed=1)
    predicted = np.ones(5000, dtype=int)
    a = build_profile(frame, predicted, classes=[0, 1], sample_size=300, seed=7)
    b = build_profile(frame, predicted, classes=[0, 1], sample_size=300, seed=7)
    c = build_profile(frame, predicted, classes=[0, 1], sample_size=300, seed=8)
    assert a.reference_sample == b.reference_sample
    assert a.reference_sample["x"] != c.reference_sample["x"]
    assert all(len(v) == 300 for v in a.reference_sample.values())
    # the same rows for every feature: each sampled x sits in a row with the sampled colour
    rows = frame.set_index("x")
    for x, colour in zip(a.reference_sample["x"], a.reference_sample["colour"], strict=True):
        assert rows.loc[x, "colour"] == colour
    assert a.n_rows == 5000
    small = build_profile(frame.head(50), predicted[:50], classes=[0, 1], sample_size=300)
    assert small.reference_sample["x"] == frame["x"].head(50).tolist()


def test_sorted_samples_are_cached_and_sorted() -> None:
    profile = build_profile(_frame(400), np.zeros(400, dtype=int), classes=[0, 1])
    first = profile.sorted_samples
    assert first is profile.sorted_samples
    assert set(first) == {"x", "count"}
    assert np.array_equal(first["x"], np.sort(profile.reference_sample["x"]))


def test_prediction_counts_cover_every_class_and_refuse_unknown_ones() -> None:
    frame = _frame(10)
    profile = build_profile(frame, ["b"] * 7 + ["a"] * 3, classes=["a", "b", "c"])
    assert profile.prediction_counts == {"a": 3, "b": 7, "c": 0}
    with pytest.raises(ProfileError, match="not one of the classes"):
        build_profile(frame, ["z"] * 10, classes=["a", "b"])


def test_baseline_metrics_equal_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    frame = _frame(500, seed=3)
    labels = rng.integers(0, 2, size=500)
    p1 = np.clip(labels * 0.6 + rng.uniform(0, 0.4, size=500), 0.01, 0.99)
    proba = np.column_stack([1 - p1, p1])
    predicted = (p1 > 0.5).astype(int)
    profile = build_profile(frame, predicted, classes=[0, 1], labels=labels, probabilities=proba)
    assert profile.baseline_metrics == pytest.approx(
        {
            "accuracy": metrics.accuracy_score(labels, predicted),
            "f1": metrics.f1_score(labels, predicted),
            "log_loss": metrics.log_loss(labels, proba),
            "roc_auc": metrics.roc_auc_score(labels, p1),
        },
        abs=1e-12,
    )
    assert (profile.baseline_rows, profile.baseline_errors) == (
        500,
        int((labels != predicted).sum()),
    )
    unlabeled = build_profile(frame, predicted, classes=[0, 1])
    assert unlabeled.baseline_metrics == {}
    assert (unlabeled.baseline_rows, unlabeled.baseline_errors) == (None, None)


def test_log_loss_follows_the_classes_order_not_the_sorted_labels() -> None:
    frame = _frame(6)
    classes = ["lo", "mid", "hi"]  # predict_proba's column order, not sorted
    labels = ["lo", "mid", "hi", "hi", "lo", "mid"]
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]] * 2)
    profile = build_profile(frame, labels, classes=classes, labels=labels, probabilities=proba)
    sorted_columns = proba[:, [2, 0, 1]]  # hi, lo, mid: what scikit-learn expects
    expected = metrics.log_loss(labels, sorted_columns, labels=sorted(classes))
    assert profile.baseline_metrics["log_loss"] == pytest.approx(expected, rel=1e-12)
    assert profile.baseline_metrics["accuracy"] == 1.0


def test_json_round_trip_is_exact_and_plain_json() -> None:
    frame = _frame(300, seed=4)
    labels = np.asarray(frame["count"] > 0).astype(np.int64)
    profile = build_profile(frame, labels, classes=np.array([0, 1]), labels=labels, sample_size=100)
    text = profile.to_json()
    data = json.loads(text)
    assert data["classes"] == [0, 1] and data["format_version"] == 1
    back = ReferenceProfile.from_json(text)
    assert back == profile
    assert back.classes == (0, 1) and isinstance(back.classes[0], int)
    assert back.spec("x") == profile.spec("x")


def test_the_baseline_counts_round_trip_and_an_old_profile_reads_without_them() -> None:
    frame = _frame(200, seed=5)
    predicted = np.asarray(frame["count"] > 0).astype(np.int64)
    labels = np.where(np.arange(200) % 10 == 0, 1 - predicted, predicted)  # 20 wrong
    profile = build_profile(frame, predicted, classes=[0, 1], labels=labels, sample_size=50)
    data = json.loads(profile.to_json())
    assert (data["baseline_rows"], data["baseline_errors"]) == (200, 20)
    assert ReferenceProfile.from_json(profile.to_json()) == profile
    for key in ("baseline_rows", "baseline_errors"):  # as written before the counts existed
        del data[key]
    old = ReferenceProfile.from_json(json.dumps(data))
    assert (old.baseline_rows, old.baseline_errors) == (None, None)
    assert old.baseline_metrics == profile.baseline_metrics
    with pytest.raises(ProfileError, match="come together"):
        ReferenceProfile.from_json(json.dumps({**data, "baseline_rows": 200}))
    with pytest.raises(ProfileError, match="out of 200 rows"):
        ReferenceProfile.from_json(
            json.dumps({**data, "baseline_rows": 200, "baseline_errors": 201})
        )


def test_bad_input_raises_profile_errors() -> None:
    assert issubclass(ProfileError, CentinelaError)
    frame = _frame(10)
    with pytest.raises(ProfileError, match="no rows"):
        build_profile(frame.head(0), [], classes=[0, 1])
    with pytest.raises(ProfileError, match="predictions for"):
        build_profile(frame, [0], classes=[0, 1])
    with pytest.raises(ProfileError, match="n_bins"):
        build_profile(frame, [0] * 10, classes=[0, 1], n_bins=1)
    with pytest.raises(ProfileError, match="malformed"):
        ReferenceProfile.from_json('{"format_version": 1}')
    with pytest.raises(ProfileError, match="format"):
        ReferenceProfile.from_json('{"format_version": 99}')
    profile = build_profile(frame, [0] * 10, classes=[0, 1])
    with pytest.raises(ProfileError, match="not in the reference profile"):
        profile.spec("nope")
    with pytest.raises(ProfileError, match="unique"):
        ReferenceProfile(
            features=(FeatureSpec("a", "numeric"), FeatureSpec("a", "numeric")),
            classes=(0, 1),
            reference_sample={},
            prediction_counts={},
            baseline_metrics={},
            n_rows=0,
        )
