"""The batch step without a broker: scoring, join, windows, dead letters, changelog replay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import orjson
import pandas as pd
import pytest

from centinela.contract.codec import decode
from centinela.contract.records import DeadLetter, LabeledExample, Prediction
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from stream import blob_json
from stream.app import summary_maker
from stream.batch_output import BatchOutput
from stream.champion import Champion
from stream.changelog import encode_group, read_groups
from stream.pipeline import Pipeline
from stream.state import PartitionState
from tests.stream.stream_data import (
    FakeMessage,
    at,
    event_bytes,
    label_bytes,
    labels_for,
    rows,
    seeded_frame,
    trained_model,
)

SETTINGS = Settings(
    _env_file=None,  # type: ignore[call-arg]
    window_seconds=10.0,
    allowed_lateness_seconds=2.0,
    join_ttl_seconds=30.0,
    topic_prefix="u.",
    model_name="m",
)


@pytest.fixture(scope="module")
def champion() -> Champion:
    return Champion.from_model(trained_model("1"), SETTINGS)


def new_pipeline(
    champion: Champion, partitions: Iterable[int] = (0, 1, 2), settings: Settings = SETTINGS
) -> Pipeline:
    profiles = {champion.version: champion.profile}
    pipeline = Pipeline(
        settings, Topics.from_settings(settings), profiles.__getitem__, summary_maker(settings)
    )
    pipeline.n_partitions = len(list(partitions))
    for partition in partitions:
        pipeline.assign(partition)
    return pipeline


def same_windows(ours: PartitionState, theirs: PartitionState) -> None:
    """The same open windows, summary for summary, and the same watermarks."""
    assert ours.windows.describe() == theirs.windows.describe()
    dumps = [
        [
            (key, orjson.dumps(s.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY))
            for key, s in p.windows
        ]
        for p in (ours, theirs)
    ]
    assert dumps[0] == dumps[1]


class Log:
    """Offsets per partition, so batches look like consecutive Kafka fetches."""

    def __init__(self) -> None:
        self.next: dict[tuple[str, int], int] = {}

    def message(self, topic: str, partition: int, key: str, value: bytes) -> FakeMessage:
        offset = self.next.get((topic, partition), 0)
        self.next[(topic, partition)] = offset + 1
        return FakeMessage(partition, offset, key.encode(), value)


def events(
    n: int, *, start: int = 0, spacing: float = 0.01
) -> list[tuple[str, float, dict[str, Any]]]:
    frame = seeded_frame(n, seed=start + 5)
    return [(f"e-{start + i}", (start + i) * spacing, row) for i, row in enumerate(rows(frame))]


def run(
    pipeline: Pipeline,
    champion: Champion,
    features: dict[int, list[FakeMessage]],
    labels: dict[int, list[FakeMessage]] | None = None,
    caught_up: Callable[[int], bool] = lambda p: True,
) -> BatchOutput:
    return pipeline.process(
        champion, features, labels or {}, labels_caught_up=caught_up, received_at=0.0
    )


def test_every_event_gets_its_own_prediction_across_partitions(champion):
    pipeline, log = new_pipeline(champion), Log()
    batch = events(300)
    by_partition: dict[int, list[FakeMessage]] = {2: [], 0: [], 1: []}  # not in partition order
    for event_id, moment, features in batch:
        partition = int(event_id.split("-")[1]) % 3
        value = event_bytes(event_id, at(moment), features)
        by_partition[partition].append(log.message("features", partition, event_id, value))
    out = run(pipeline, champion, by_partition)
    got = {}
    for partition, produced in out.predictions.items():
        for key, value in produced:
            record = decode(Prediction, value)
            assert record.event_id == key.decode()
            assert int(record.event_id.split("-")[1]) % 3 == partition
            got[record.event_id] = record.predicted_class
    frame = pd.DataFrame([f for _, _, f in batch])
    expected = champion.model.model.predict(frame[list(champion.profile.feature_names)])
    assert got == {event_id: int(p) for (event_id, _, _), p in zip(batch, expected, strict=True)}
    assert out.stats.scored == 300
    assert out.commits[("u.features", 0)] == 100


def test_labels_join_in_either_order_and_windows_count_outcomes(champion):
    pipeline, log = new_pipeline(champion, [0]), Log()
    batch = events(20)
    truth = labels_for(pd.DataFrame([f for _, _, f in batch]))
    early = [  # labels of the first five events arrive before the events
        log.message("labels", 0, e, label_bytes(e, int(truth[i]), at(t + 1)))
        for i, (e, t, _) in enumerate(batch[:5])
    ]
    out = run(pipeline, champion, {}, {0: early})
    assert not out.labeled and pipeline.states[0].join.pending_labels == 5
    feats = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in batch]
    late = [
        log.message("labels", 0, e, label_bytes(e, int(truth[i]), at(t + 1)))
        for i, (e, t, _) in enumerate(batch[5:], start=5)
    ]
    out = run(pipeline, champion, {0: feats}, {0: late})
    joined = [decode(LabeledExample, v) for _, v, _ in out.labeled[0]]
    # The join keeps the events packed: the examples still carry them as they were sent.
    assert {j.event_id: (j.event_time, j.features) for j in joined} == {
        e: (at(t), f) for e, t, f in batch
    }
    [((version, _), summary)] = list(pipeline.states[0].windows)
    assert (version, summary.n_events, summary.n_labeled) == ("1", 20, 20)


def test_bad_input_is_dead_lettered_and_the_batch_goes_on(champion):
    pipeline, log = new_pipeline(champion, [0]), Log()
    good = events(3)
    messages = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in good]
    messages.insert(1, log.message("features", 0, "bad", b"{nope"))
    messages.append(log.message("features", 0, "e-0", messages[0].value or b""))
    labels = [log.message("labels", 0, "e-1", label_bytes("e-1", 9, at(1)))]
    out = run(pipeline, champion, {0: messages}, {0: labels})
    letters = [dl for dl in out.dead_letters]
    assert sorted(dl.reason for dl in letters) == [
        "duplicate_event_id",
        "malformed_json",
        "unknown_class",
    ]
    bad = next(dl for dl in letters if dl.reason == "malformed_json")
    assert isinstance(bad, DeadLetter) and (bad.partition, bad.offset) == (0, 3)
    assert len(out.predictions[0]) == 3


def test_windows_close_by_event_time_and_announce_coverage(champion):
    pipeline, log = new_pipeline(champion, [0]), Log()
    first = events(100, spacing=0.1)  # 0 .. 9.9 s: window 0
    out = run(
        pipeline,
        champion,
        {0: [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in first]},
    )
    assert [blob_json.loads(c.encode())["closed_through"] for c in out.closes] == [
        pipeline.states[0].windows.window_of(at(0).timestamp()) - 1
    ]
    later = events(10, start=130, spacing=0.1)  # 13 .. 13.9 s: past window 0's end + lateness
    out = run(
        pipeline,
        champion,
        {0: [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in later]},
    )
    [close] = [blob_json.loads(c.encode()) for c in out.closes]
    [window] = close["windows"]
    assert (close["partition"], window["version"]) == (0, "1")
    assert window["window_id"] == pipeline.states[0].windows.window_of(at(0).timestamp())
    # A late event for the closed window is scored but not windowed.
    straggler = events(1, start=1000, spacing=0.005)  # e-1000 at 5 s: window 0
    out = run(
        pipeline,
        champion,
        {0: [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in straggler]},
    )
    assert len(out.predictions[0]) == 1 and out.stats.late_events == 1


def test_replaying_the_changelog_rebuilds_the_same_state(champion):
    live, log = new_pipeline(champion, [0]), Log()
    batch = events(200, spacing=0.05)
    truth = labels_for(pd.DataFrame([f for _, _, f in batch]))
    chunks: list[bytes] = []
    for start in range(0, 200, 50):
        part = batch[start : start + 50]
        feats = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in part]
        labels = [
            log.message("labels", 0, e, label_bytes(e, int(truth[start + i]), at(t + 0.5)))
            for i, (e, t, _) in enumerate(part)
            if i % 2 == 0
        ]
        chunks += encode_group(run(live, champion, {0: feats}, {0: labels}).changelog[0])
    restored = new_pipeline(champion, [])
    state = restored.restore(0, list(read_groups(chunks)))
    before, after = live.states[0], state
    assert (after.next_feature_offset, after.next_label_offset) == (200, 100)
    assert after.join.pending_events == before.join.pending_events
    same_windows(before, after)
    # A label for an event restored into the join still joins after the restart.
    e, t, _ = batch[1]
    out = run(
        restored,
        champion,
        {},
        {
            0: [
                FakeMessage(
                    0,
                    100,
                    e.encode(),
                    label_bytes(e, 1, at(t + timedelta(seconds=1).total_seconds())),
                )
            ]
        },
    )
    [(key, value, timestamp_ms)] = out.labeled[0]
    example = decode(LabeledExample, value)
    assert (key, example.features) == (e.encode(), batch[1][2])
    # The labeled record's Kafka timestamp is its event time, to the millisecond.
    assert timestamp_ms == int(example.event_time.timestamp() * 1000)


def drive(
    pipeline: Pipeline,
    champion: Champion,
    feats: list[FakeMessage],
    labels: list[FakeMessage],
    *,
    seed: int,
    restart_at: int | None = None,
) -> tuple[Pipeline, list[bytes]]:
    """Feed one partition in random interleavings of the two topics, like fetches do; at
    ``restart_at`` batches, rebuild the pipeline from its changelog as a new owner would."""
    import random

    rng = random.Random(seed)
    fi = li = batches = 0
    chunks: list[bytes] = []
    closes: list[Any] = []
    while fi < len(feats) or li < len(labels):
        take_f, take_l = rng.choice([(37, 0), (0, 53), (11, 7), (120, 0), (0, 200)])
        f, lb = feats[fi : fi + take_f], labels[li : li + take_l]
        fi, li = fi + len(f), li + len(lb)
        caught = li >= len(labels)
        out = run(
            pipeline,
            champion,
            {0: f} if f else {},
            {0: lb} if lb else {},
            caught_up=lambda p, done=caught: done,
        )
        if 0 in out.changelog:
            chunks += encode_group(out.changelog[0])
        closes += out.closes
        batches += 1
        if batches == restart_at:
            pipeline = new_pipeline(champion, [])
            pipeline.restore(0, list(read_groups(chunks)))
    out = pipeline.tick(idle=lambda p: True, labels_caught_up=lambda p: True)
    return pipeline, [c.encode() for c in closes + out.closes]


def test_windows_do_not_depend_on_interleaving_or_restarts(champion):
    batch = events(1500, spacing=0.01)  # 15 s: windows of 10 s, lateness 2 s
    truth = labels_for(pd.DataFrame([f for _, _, f in batch]))
    log = Log()
    feats = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in batch]
    labels = [
        log.message("labels", 0, e, label_bytes(e, int(truth[i]), at(t + 0.7)))
        for i, (e, t, _) in enumerate(batch)
        if i % 5
    ]

    def windows(closes: list[bytes]) -> dict[tuple[str, int], tuple[int, int]]:
        found = {}
        for close in closes:
            for w in blob_json.loads(close)["windows"]:
                summary = summary_from_dict(w["summary"])
                found[(w["version"], w["window_id"])] = (summary.n_events, summary.n_labeled)
        return found

    from centinela.drift.summary import WindowSummary

    summary_from_dict = WindowSummary.from_dict
    reference = windows(drive(new_pipeline(champion, [0]), champion, feats, labels, seed=0)[1])
    assert sum(n for n, _ in reference.values()) == 1500
    assert sum(k for _, k in reference.values()) == len(labels)
    for seed, restart in [(1, None), (2, 3), (3, 7), (4, 12)]:
        got = windows(
            drive(
                new_pipeline(champion, [0]), champion, feats, labels, seed=seed, restart_at=restart
            )[1]
        )
        assert got == reference, (seed, restart)


def test_features_read_ahead_of_a_label_backlog_do_not_expire_the_join(champion):
    settings = SETTINGS.model_copy(update={"join_ttl_seconds": 1.0})
    pipeline, log = new_pipeline(champion, [0], settings), Log()
    batch = events(1000, spacing=0.01)  # 10 s of events, labels 0.5 s later, TTL 1 s
    feats = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in batch]
    labels = [log.message("labels", 0, e, label_bytes(e, 1, at(t + 0.5))) for e, t, _ in batch]
    out = run(pipeline, champion, {0: feats}, caught_up=lambda p: False)
    joined, letters = 0, []
    for start in range(0, 1000, 100):
        out = run(
            pipeline,
            champion,
            {},
            {0: labels[start : start + 100]},
            caught_up=lambda p, last=start == 900: last,
        )
        joined += len(out.labeled.get(0, []))
        letters += [dl.reason for dl in out.dead_letters]
    assert (joined, letters) == (1000, [])
    # Once labels are caught up the TTL applies again: joined events older than it are gone.
    assert pipeline.states[0].join.pending_events < 200


def test_the_joins_memory_is_one_budget_shared_by_the_partitions_a_worker_owns(champion):
    settings = SETTINGS.model_copy(update={"join_memory_entries": 12_000})
    pipeline = new_pipeline(champion, (0, 1, 2), settings)
    assert [s.join.memory_entries for s in pipeline.states.values()] == [4_000] * 3
    restoring = pipeline.fresh_state(3)  # restored with the share it will have once adopted
    assert restoring.join.memory_entries == 3_000
    pipeline.adopt(restoring)
    assert [s.join.memory_entries for s in pipeline.states.values()] == [3_000] * 4
    pipeline.revoke(0)
    pipeline.revoke(1)
    assert [s.join.memory_entries for s in pipeline.states.values()] == [6_000] * 2
    crowded = new_pipeline(champion, range(20), settings)  # never below 1,000 each
    assert {s.join.memory_entries for s in crowded.states.values()} == {1_000}
    pipeline.close()
    crowded.close()
