"""Hold-out split, scoring and the comparison plot (pure, no broker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from centinela.models.profile import fit_calibration
from centinela.models.trainers import train
from retrain.data import TrainingData
from retrain.evaluation import (
    Comparison,
    compare,
    measure_baseline,
    plot_comparison,
    score,
    split_baseline,
    split_holdout,
)
from retrain.training import challenger_profile, mix_champion_data
from tests.retrain.support import labeled_frame


def _data(n: int, seed: int) -> TrainingData:
    frame, labels = labeled_frame(n, seed=seed)
    rng = np.random.default_rng(seed)
    times = np.datetime64("2026-01-01T00:00:00") + rng.permutation(n).astype("timedelta64[s]")
    return TrainingData(
        frame,
        labels,
        times.astype("datetime64[ns]"),
        np.asarray([f"e{i}" for i in range(n)], dtype=object),
        "test",
    )


def test_the_holdout_is_the_most_recent_share_by_event_time() -> None:
    data = _data(1000, seed=1)
    train_part, holdout = split_holdout(data, 0.2)
    assert (len(train_part), len(holdout)) == (800, 200)
    assert train_part.event_times.max() < holdout.event_times.min()
    assert set(train_part.event_ids) | set(holdout.event_ids) == set(data.event_ids)


def test_the_holdout_is_dealt_into_a_comparison_part_and_a_baseline_part() -> None:
    data = _data(1000, seed=5)
    train_part, holdout = split_holdout(data, 0.2)
    compared, baseline = split_baseline(holdout)
    assert (len(compared), len(baseline)) == (100, 100)
    assert set(compared.event_ids).isdisjoint(baseline.event_ids)
    assert set(compared.event_ids) | set(baseline.event_ids) == set(holdout.event_ids)
    # both parts span the same, most recent period: their rows alternate in event time
    a, b = np.sort(compared.event_times), np.sort(baseline.event_times)
    assert (a <= b).all() and (b[:-1] <= a[1:]).all()
    assert train_part.event_times.max() < baseline.event_times.min()
    assert split_baseline(holdout)[1].event_ids.tolist() == baseline.event_ids.tolist()
    odd, none = split_baseline(holdout.take(np.arange(1)))
    assert (len(odd), len(none)) == (1, 0)


def test_the_challengers_baseline_is_measured_on_the_rows_it_was_not_compared_on() -> None:
    data = _data(2000, seed=6)
    train_part, holdout = split_holdout(data, 0.25)
    compared, baseline_part = split_baseline(holdout)
    model = train("logistic_regression", {}, train_part.features, list(train_part.labels))
    baseline = measure_baseline(model, baseline_part)
    assert baseline.rows == 250
    assert baseline.errors == int(
        (model.predict(baseline_part.features) != baseline_part.labels).sum()
    )
    assert baseline.metrics == score(model, baseline_part.features, baseline_part.labels)
    assert baseline.metrics["accuracy"] == pytest.approx(1 - baseline.errors / 250)
    profile = challenger_profile(model, train_part, baseline, sample_size=100)
    assert (profile.baseline_rows, profile.baseline_errors) == (250, baseline.errors)
    assert profile.baseline_metrics == baseline.metrics
    assert profile.baseline_metrics != score(model, compared.features, compared.labels)
    assert profile.n_rows == len(train_part)  # the reference is still the training data
    empty = measure_baseline(model, baseline_part.take(np.arange(0)))
    bare = challenger_profile(model, train_part, empty, sample_size=100)
    assert bare.baseline_metrics == {} and bare.baseline_rows is None


def test_the_challengers_calibration_is_fitted_on_its_baseline_rows() -> None:
    """The estimate of performance before labels uses it: fitted on the rows the baseline was
    measured on, not on the training rows (whose probabilities are the overconfident ones)."""
    data = _data(2000, seed=6)
    train_part, holdout = split_holdout(data, 0.25)
    _, baseline_part = split_baseline(holdout)
    model = train("logistic_regression", {}, train_part.features, list(train_part.labels))
    baseline = measure_baseline(model, baseline_part)
    proba = model.predict_proba(baseline_part.features)
    expected = fit_calibration(
        baseline_part.labels, model.classes_[proba.argmax(axis=1)], proba, list(model.classes_)
    )
    assert baseline.calibration is not None and baseline.calibration == expected
    assert baseline.calibration.rows == 250
    profile = challenger_profile(model, train_part, baseline, sample_size=100)
    assert profile.calibration == baseline.calibration
    empty = measure_baseline(model, baseline_part.take(np.arange(0)))
    assert empty.calibration is None
    assert challenger_profile(model, train_part, empty, sample_size=100).calibration is None


def test_both_models_are_scored_on_the_same_rows() -> None:
    data = _data(2000, seed=2)
    train_part, holdout = split_holdout(data, 0.25)
    good = train("logistic_regression", {}, train_part.features, list(train_part.labels))
    weak = train(
        "logistic_regression", {"C": 1e-4}, train_part.features.head(50),
        list(train_part.labels[:50]),
    )  # fmt: skip
    comparison = compare(good, weak, holdout, champion_columns=list(holdout.features.columns))
    assert comparison.n_holdout == 500
    assert comparison.metrics() == ["accuracy", "f1", "roc_auc", "log_loss"]
    assert comparison.improvement("log_loss") > 0 and comparison.improvement("accuracy") >= 0
    assert Comparison.from_json(comparison.to_json()) == comparison


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    comparison = Comparison(
        {"accuracy": 0.9, "log_loss": 0.3}, {"accuracy": 0.8, "log_loss": 0.4}, 100, "2", "1"
    )
    path = plot_comparison(comparison, tmp_path / "c.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("share", "expected_old"), [(0.0, 0), (0.5, 300), (0.9, 400)])
def test_champion_data_makes_up_the_configured_share(share: float, expected_old: int) -> None:
    new, old = _data(300, seed=3), _data(400, seed=4)
    renamed = np.asarray([f"old{i}" for i in range(400)], dtype=object)
    old = TrainingData(old.features, old.labels, old.event_times, renamed, "old")
    mixed = mix_champion_data(new, old, share)
    assert len(mixed) == 300 + expected_old
    assert sum(str(i).startswith("old") for i in mixed.event_ids) == expected_old
