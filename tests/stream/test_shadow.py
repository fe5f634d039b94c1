"""Shadow scoring in the batch step, without a broker: the challenger scores every accepted
event once, beside the champion, and changes nothing the champion's path produces."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pandas as pd
import pytest

from centinela.contract.codec import decode
from centinela.contract.records import Prediction
from centinela.models.registry import LoadedModel
from centinela.models.trainers import train
from stream.batch_output import BatchOutput
from stream.champion import Champion
from tests.stream.stream_data import (
    at,
    event_bytes,
    label_bytes,
    labels_for,
    profile_for,
    seeded_frame,
    trained_model,
)
from tests.stream.test_pipeline import SETTINGS, Log, events, new_pipeline, run


@pytest.fixture(scope="module")
def champion() -> Champion:
    return Champion.from_model(trained_model("1"), SETTINGS)


@pytest.fixture(scope="module")
def challenger() -> Champion:
    return Champion.from_model(trained_model("2", seed=3), SETTINGS, role="shadow")


class Raising:
    """A model that fails on every batch (a challenger with a bug)."""

    classes_ = (0, 1)

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        raise ValueError("the challenger cannot score this")


def batch_of(
    n: int, log: Log, *, start: int = 0, partitions: int = 3
) -> tuple[dict[int, list[Any]], list[Any]]:
    """``n`` good events spread over partitions, a malformed one and a duplicate in partition 0."""
    batch = events(n, start=start)
    by_partition: dict[int, list[Any]] = {p: [] for p in range(partitions)}
    for event_id, moment, features in batch:
        partition = int(event_id.split("-")[1]) % partitions
        value = event_bytes(event_id, at(moment), features)
        by_partition[partition].append(log.message("features", partition, event_id, value))
    by_partition[0].append(log.message("features", 0, "bad", b"{nope"))
    first = by_partition[0][0]
    by_partition[0].append(log.message("features", 0, first.key.decode(), first.value))
    return by_partition, batch


def champion_view(out: BatchOutput) -> dict[str, Any]:
    """What the champion's path produced, without the clock's fields."""
    predictions = {
        p: [
            (k, decode(Prediction, v).model_dump(exclude={"scored_at", "latency_ms"}))
            for k, v in rows
        ]
        for p, rows in out.predictions.items()
    }
    events = {
        p: [(e.event_id, e.version, e.predicted, e.probabilities) for e in group.events]
        for p, group in out.changelog.items()
    }
    return {
        "predictions": predictions,
        "labeled": out.labeled,
        "dead_letters": sorted((d.reason, d.offset) for d in out.dead_letters),
        "changelog_events": events,
        "commits": out.commits,
        "closes": [(c.partition, c.closed_through) for c in out.closes],
    }


def test_the_challenger_scores_each_accepted_event_once_beside_an_unchanged_champion(
    champion: Champion, challenger: Champion
) -> None:
    features, batch = batch_of(300, Log())
    truth = labels_for(pd.DataFrame([f for _, _, f in batch]))
    labels = {1: [Log().message("labels", 1, "e-1", label_bytes("e-1", int(truth[1]), at(1)))]}
    alone_pipeline, shadowed_pipeline = new_pipeline(champion), new_pipeline(champion)
    alone = run(alone_pipeline, champion, features, labels)
    shadowed = shadowed_pipeline.process(
        champion, features, labels, labels_caught_up=lambda p: True, received_at=0.0,
        challenger=challenger,
    )  # fmt: skip

    assert champion_view(shadowed) == champion_view(alone)
    for partition, state in shadowed_pipeline.states.items():  # the same join and windows
        other = alone_pipeline.states[partition]
        assert state.windows.describe() == other.windows.describe()
        assert state.join.pending_events == other.join.pending_events
        counts = [(k, s.n_events) for k, s in state.windows]
        assert counts == [(k, s.n_events) for k, s in other.windows] and counts
    assert not alone.shadow_predictions and alone.stats.shadow_scored == 0
    assert shadowed.stats.shadow_scored == 300 == shadowed_pipeline.shadow.scored
    frame = pd.DataFrame([f for _, _, f in batch]).set_index(pd.Index([e for e, _, _ in batch]))
    expected = challenger.model.model.predict(frame[list(challenger.profile.feature_names)])
    wanted = dict(zip(frame.index, expected.tolist(), strict=True))
    assert set(shadowed.shadow_predictions) == set(shadowed.predictions)
    seen = []
    for partition, rows in shadowed.shadow_predictions.items():
        assert [k for k, _ in rows] == [k for k, _ in shadowed.predictions[partition]]
        for key, value in rows:
            record = decode(Prediction, value)
            assert record.event_id == key.decode() and record.role == "shadow"
            assert (record.model_name, record.model_version) == ("m", "2")
            assert record.predicted_class == wanted[record.event_id]
            seen.append(record.event_id)
    assert sorted(seen) == sorted(e for e, _, _ in batch)
    # The champion's records say theirs.
    champions = [decode(Prediction, v) for rows in shadowed.predictions.values() for _, v in rows]
    assert {(p.role, p.model_version) for p in champions} == {("champion", "1")}
    # The two models disagree somewhere, so the shadow records are the challenger's own.
    ours = {p.event_id: p.predicted_class for p in champions}
    assert any(ours[e] != c for e, c in wanted.items())


def test_a_challenger_that_raises_costs_only_its_shadow_records(
    champion: Champion, challenger: Champion, caplog: pytest.LogCaptureFixture
) -> None:
    broken = dataclasses.replace(
        challenger, model=dataclasses.replace(challenger.model, model=Raising())
    )
    log = Log()
    pipeline, alone_pipeline = new_pipeline(champion), new_pipeline(champion)
    with caplog.at_level(logging.ERROR, logger="stream.shadow"):
        for start in (0, 300):
            features, _ = batch_of(100, log, start=start)
            out = pipeline.process(
                champion, features, {}, labels_caught_up=lambda p: True, received_at=0.0,
                challenger=broken,
            )  # fmt: skip
            alone = run(alone_pipeline, champion, features)
            assert champion_view(out) == champion_view(alone)
            assert not out.shadow_predictions and out.stats.shadow_scored == 0
    assert pipeline.shadow.skipped_batches == 2 and pipeline.shadow.scored == 0
    said = [r for r in caplog.records if r.name == "stream.shadow"]
    assert len(said) == 1 and "raised on a batch" in said[0].getMessage()


def test_a_challenger_that_reads_other_features_is_skipped_and_said_once(
    champion: Champion, caplog: pytest.LogCaptureFixture
) -> None:
    frame = seeded_frame(500, seed=4, numeric=4)
    labels = labels_for(frame)
    model = train("logistic_regression", {}, frame, labels)
    loaded = LoadedModel("m", "5", "run-5", model, profile_for(model, frame, labels), "lr", {})
    other = Champion.from_model(loaded, SETTINGS, role="shadow")
    pipeline, log = new_pipeline(champion), Log()
    with caplog.at_level(logging.WARNING, logger="stream.shadow"):
        for start in (0, 1000):
            features, _ = batch_of(50, log, start=start)
            out = pipeline.process(
                champion, features, {}, labels_caught_up=lambda p: True, received_at=0.0,
                challenger=other,
            )  # fmt: skip
            assert out.stats.scored == 50 and not out.shadow_predictions
    said = [r for r in caplog.records if r.name == "stream.shadow"]
    assert len(said) == 1 and "x3" in said[0].getMessage()
    assert pipeline.shadow.skipped_batches == 2
