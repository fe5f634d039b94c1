"""Shadow scoring in the batch step, without a broker: the challenger scores every accepted
event once, beside the champion, and changes nothing the champion's path produces."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest

from centinela.contract.codec import decode
from centinela.contract.records import Prediction
from centinela.drift.calculator import compute_drift
from centinela.drift.config import DriftConfig
from centinela.models.registry import LoadedModel
from centinela.models.trainers import train
from stream import blob_json
from stream.batch_output import BatchOutput
from stream.champion import Champion
from stream.changelog import encode_group, read_groups
from tests.stream.stream_data import (
    FakeMessage,
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


def test_labels_count_for_the_challenger_too_and_survive_a_restore(
    champion: Champion, challenger: Champion
) -> None:
    """The first batch is scored before the challenger comes; every other event is labeled.
    The windows count the challenger's outcomes (read back from its shadow records, not from
    the summary) and a restore from the changelog rebuilds them, join included."""
    live, log = new_pipeline(champion, [0]), Log()
    batch = events(200, spacing=0.05)
    truth = labels_for(pd.DataFrame([f for _, _, f in batch])).copy()
    truth[np.random.default_rng(5).random(truth.size) < 0.2] ^= 1  # both models make mistakes
    chunks: list[bytes] = []
    theirs: dict[str, Any] = {}
    ours: dict[str, Any] = {}
    for start in range(0, 200, 50):
        part = batch[start : start + 50]
        feats = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in part]
        labels = [
            log.message("labels", 0, e, label_bytes(e, int(truth[start + i]), at(t + 0.5)))
            for i, (e, t, _) in enumerate(part)
            if i % 2 == 0
        ]
        out = live.process(
            champion, {0: feats}, {0: labels}, labels_caught_up=lambda p: True, received_at=0.0,
            challenger=None if start == 0 else challenger,
        )  # fmt: skip
        chunks += encode_group(out.changelog[0])
        for _, value in out.shadow_predictions.get(0, []):
            record = decode(Prediction, value)
            theirs[record.event_id] = record.predicted_class
        for _, value in out.predictions[0]:
            record = decode(Prediction, value)
            ours[record.event_id] = record.predicted_class
    assert len(theirs) == 150

    def expected(labeled: list[int]) -> dict[int, tuple[int, float, float]]:
        """Per window of the label time: the challenger's labeled count and accuracy, and
        the champion's accuracy on the same events."""
        by_window: dict[int, list[int]] = {}
        for i in labeled:
            event_id, moment, _ = batch[i]
            if event_id in theirs:
                window = int(at(moment + 0.5).timestamp() // SETTINGS.window_seconds)
                by_window.setdefault(window, []).append(i)
        return {
            window: (
                len(rows),
                float(sum(theirs[batch[i][0]] == truth[i] for i in rows) / len(rows)),
                float(sum(ours[batch[i][0]] == truth[i] for i in rows) / len(rows)),
            )
            for window, rows in by_window.items()
        }

    def counted(pipeline: Any) -> dict[int, tuple[int, float, float]]:
        found = {}
        for (version, window), buffered in pipeline.states[0].windows:
            assert version == "1"
            buffered.flush()
            report = compute_drift(
                buffered.summary, champion.profile, DriftConfig(), model_name="m"
            )
            assert report.challenger_version == "2"
            found[window] = (
                report.challenger_labeled,
                report.challenger_performance["accuracy"],
                report.challenger_paired_champion["accuracy"],
            )
        return found

    labeled = list(range(0, 200, 2))
    assert counted(live) == expected(labeled)
    assert sum(n for n, _, _ in counted(live).values()) == 75

    restored = new_pipeline(champion, [])
    restored.restore(0, list(read_groups(chunks)))
    dumps = [
        [(key, blob_json.dumps(s.to_dict())) for key, s in p.states[0].windows]
        for p in (live, restored)
    ]
    assert dumps[0] == dumps[1] and b"challengers" in dumps[1][0][1]
    # A label for a shadowed event restored into the join counts for the challenger too.
    event_id, moment, _ = batch[101]
    label = FakeMessage(
        0, 100, event_id.encode(), label_bytes(event_id, int(truth[101]), at(moment + 0.5))
    )
    run(restored, champion, {}, {0: [label]})
    assert counted(restored) == expected([*labeled, 101])
