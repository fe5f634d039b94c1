"""The changelog is compacted: dead groups are retired with tombstones, and what compaction
leaves rebuilds exactly the state the live worker holds."""

from __future__ import annotations

import math

import pandas as pd

from stream.changelog import GroupReader
from stream.pipeline import Pipeline
from stream.sink import changelog_rows
from stream.state import LoggedGroup, PartitionState, retire_groups
from tests.stream.stream_data import at, event_bytes, label_bytes, labels_for
from tests.stream.test_pipeline import Log, champion, events, new_pipeline, run, same_windows

__all__ = ["champion"]  # the module fixture, shared with the pipeline tests

Row = tuple[bytes | None, bytes | None]


def compact(rows: list[Row]) -> list[bytes]:
    """What Kafka's log cleaner leaves: the last record of each key, at its place in the log,
    and nothing of a key whose last record is a tombstone."""
    last = {key: index for index, (key, _) in enumerate(rows)}
    return [
        value for index, (key, value) in enumerate(rows) if last[key] == index and value is not None
    ]


def feed(pipeline: Pipeline, champion, n: int = 6000) -> list[Row]:
    """300 s of events (windows of 10 s, TTL 30 s), a label for every other one 0.5 s later,
    in batches of 50; returns the changelog rows as the sink writes them."""
    log = Log()
    batch = events(n, spacing=0.05)
    truth = labels_for(pd.DataFrame([f for _, _, f in batch]))
    rows: list[Row] = []
    for start in range(0, n, 50):
        part = batch[start : start + 50]
        feats = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in part]
        labels = [
            log.message("labels", 0, e, label_bytes(e, int(truth[start + i]), at(t + 0.5)))
            for i, (e, t, _) in enumerate(part)
            if i % 2 == 0
        ]
        out = run(pipeline, champion, {0: feats}, {0: labels})
        rows += changelog_rows(out.changelog[0])
    return rows


def replay(champion, values: list[bytes | None]) -> PartitionState:
    restored = new_pipeline(champion, [])
    reader = GroupReader()
    groups = [g for g in (reader.feed(v) for v in values) if g is not None]
    return restored.restore(0, groups)


def same_state(live: PartitionState, rebuilt: PartitionState) -> None:
    assert (rebuilt.next_feature_offset, rebuilt.next_label_offset) == (
        live.next_feature_offset,
        live.next_label_offset,
    )
    assert rebuilt.join.pending_events == live.join.pending_events
    assert rebuilt.join.pending_labels == live.join.pending_labels
    same_windows(live, rebuilt)


def test_compaction_leaves_the_live_state_and_little_else(champion):
    live = new_pipeline(champion, [0])
    rows = feed(live, champion)
    tombstones = sum(value is None for _, value in rows)
    kept = compact(rows)
    # 300 s of data, a horizon of ~74 s: most groups were retired.
    assert tombstones > 0.6 * len(kept)
    assert len(kept) < 0.4 * sum(value is not None for _, value in rows)
    same_state(live.states[0], replay(champion, kept))


def test_a_log_compacted_only_in_part_restores_the_same(champion):
    """The cleaner works segment by segment and never on the active one: a restore meets old
    groups whose tombstones come later, and tombstones whose groups are gone."""
    live = new_pipeline(champion, [0])
    rows = feed(live, champion)
    cut = len(rows) // 2
    partly = compact(rows[:cut]) + [value for _, value in rows[cut:]]
    same_state(live.states[0], replay(champion, partly))
    same_state(live.states[0], replay(champion, [value for _, value in rows]))


def test_the_restored_worker_goes_on_retiring_what_the_live_one_would(champion):
    live = new_pipeline(champion, [0])
    rows = feed(live, champion)
    rebuilt = replay(champion, compact(rows))
    assert rebuilt.logged == live.states[0].logged and len(rebuilt.logged) > 0
    assert rebuilt.latest == live.states[0].latest


def state_with(champion, groups: list[LoggedGroup], closed: int | None, expired: float | None):
    """A state that logged ``groups`` in this order (the last one is the latest)."""
    state = new_pipeline(champion, [0]).states[0]
    for group in groups[:-1]:
        state.logged.add(group.group_id, group.chunks, group.newest_ts, group.newest_window)
    state.latest = groups[-1]
    state.windows.closed_through = closed
    state.expired_through = expired
    return state


def test_a_group_retires_only_when_its_windows_are_closed_and_its_moments_past_the_horizon(
    champion,
):
    horizon = 2 * 30 * (1 + 1 / 32) + 10 + 2
    old = LoggedGroup("old", 2, 5.0, 0)
    newest = LoggedGroup("new", 1, 500.0, 50)
    state = state_with(champion, [old, newest], closed=None, expired=1000.0)
    retire_groups(state)
    assert state.to_retire == []  # window 0 is not closed yet
    state = state_with(champion, [old, newest], closed=0, expired=5.0 + horizon)
    retire_groups(state)
    assert state.to_retire == []  # the join may still remember its ids
    # Groups are kept by bucket of their newest moment: one retires once its bucket's end is
    # past, at most a bucket's width (1/256 of the horizon) after its own moment.
    width = state.logged.width
    assert width == horizon / 256
    state = state_with(champion, [old, newest], closed=0, expired=5.0 + horizon + width)
    retire_groups(state)
    assert state.to_retire == [b"old/0", b"old/1"] and not state.logged
    assert state.latest == newest
    # Groups die by their newest moment, not in the order they were logged.
    labels_first = LoggedGroup("labels", 1, 400.0, 40)
    events_after = LoggedGroup("events", 1, 10.0, 1)
    state = state_with(champion, [labels_first, events_after, newest], closed=45, expired=200.0)
    retire_groups(state)
    assert state.to_retire == [b"events/0"]
    # The newest group carries the resume offsets: never retired, even when empty.
    state = state_with(champion, [LoggedGroup("only", 1, -math.inf, None)], closed=9, expired=1e9)
    retire_groups(state)
    assert state.to_retire == []
