"""State snapshots: a snapshot and the changelog after it rebuild what the whole changelog
does, a worker resumed from one answers as one that never stopped, and a snapshot that must
not be used is deleted (with the reason) for a full replay."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

from centinela.contract.codec import decode
from centinela.contract.records import LabeledExample
from centinela.contract.settings import Settings
from stream import blob_json
from stream.batch_output import BatchOutput
from stream.champion import Champion
from stream.changelog import GroupReader
from stream.join import EVENT, EXPIRED, ORPHAN, JoinState, decode_label, encode_event_entry
from stream.pipeline import Pipeline
from stream.restore import PartitionRestorer, RestoreProgress
from stream.sink import changelog_rows
from stream.snapshot import (
    STATE_FILE,
    WRITING,
    SnapshotPlace,
    capture_snapshot,
    take_snapshot,
    write_snapshot,
)
from stream.state import PartitionState, restore
from tests.stream.stream_data import FakeMessage, at, event_bytes, label_bytes, labels_for
from tests.stream.test_pipeline import (
    SETTINGS,
    Log,
    champion,
    events,
    new_pipeline,
    same_windows,
)
from tests.stream.test_shadow import challenger

__all__ = ["challenger", "champion"]  # the module fixtures of the pipeline and shadow tests

Row = tuple[bytes | None, bytes | None]
Batch = tuple[list[FakeMessage], list[FakeMessage]]
CHANGELOG = "u.changelog"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # A join bound far below the validated minimum: most of it spills to disk.
    return SETTINGS.model_copy(update={"home": tmp_path, "join_memory_entries": 40})


def batches(n_batches: int = 60, size: int = 50) -> list[Batch]:
    """Events 0.05 s apart (windows of 10 s, TTL 30 s). Per batch: a label for every other
    event 0.5 s later, labels for a quarter of the next batch's events (waiting for them), a
    label for an event that never comes, and from batch 10 on a copy of an event scored 25 s
    before (a duplicate)."""
    log = Log()
    batch = events(n_batches * size, spacing=0.05)
    truth = labels_for(pd.DataFrame([f for _, _, f in batch]))
    out: list[Batch] = []
    for b in range(n_batches):
        part = range(b * size, (b + 1) * size)
        feats = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in
                 (batch[i] for i in part)]  # fmt: skip
        if b >= 10:
            e, t, f = batch[(b - 10) * size]
            feats.append(log.message("features", 0, e, event_bytes(e, at(t), f)))
        early = [i + size for i in part if i % 4 == 1 and i + size < len(batch)]
        mine = [i for i in part if i % 2 == 0]
        labels = [
            log.message("labels", 0, batch[i][0], label_bytes(batch[i][0], int(truth[i]),
                                                             at(batch[i][1] + 0.5)))
            for i in mine + early
        ]  # fmt: skip
        ghost = f"ghost-{b}"
        labels.append(log.message("labels", 0, ghost, label_bytes(ghost, 1, at(b * 2.5))))
        out.append((feats, labels))
    return out


def process(
    pipeline: Pipeline, champion: Champion, challenger: Champion, batch: Batch, index: int
) -> BatchOutput:
    feats, labels = batch
    return pipeline.process(
        champion, {0: feats}, {0: labels}, labels_caught_up=lambda p: True, received_at=0.0,
        challenger=None if index < 5 else challenger,
    )  # fmt: skip


def live_rows(
    pipeline: Pipeline, champion: Champion, challenger: Champion, todo: list[Batch]
) -> list[Row]:
    rows: list[Row] = []
    for index, batch in enumerate(todo):
        rows += changelog_rows(process(pipeline, champion, challenger, batch, index).changelog[0])
    return rows


def replay(pipeline: Pipeline, values: list[bytes | None], state: PartitionState) -> None:
    reader = GroupReader()
    for value in values:
        group = reader.feed(value)
        if group is not None:
            restore(state, group, pipeline.profile_of)


def join_contents(join: JoinState) -> dict[bytes, dict[str, Any]]:
    """What the join holds, memory and disk together (labels without their source offset,
    which a replay does not know)."""
    found: dict[bytes, dict[str, Any]] = {
        EVENT: {key: encode_event_entry(value) for key, value in join._events.items()},
        EXPIRED: dict.fromkeys(join._expired, b""),
        ORPHAN: {key: label for key, label in join._orphans.items()},
    }
    if join._spill is not None:
        for kind in (EVENT, EXPIRED, ORPHAN):
            found[kind].update(join._spill.items(kind))
    found[ORPHAN] = {
        key: (label.label, label.label_ts, label.label_time, label.raw)
        for key, value in found[ORPHAN].items()
        for label in [value if not isinstance(value, bytes) else decode_label(key, value)]
    }
    return found


def same_everything(ours: PartitionState, theirs: PartitionState, *, same_log: bool) -> None:
    """Equal state; the join compared by its contents (what is in memory and what on disk
    differ, and the join's counts of entries on disk are approximate). Two workers that
    processed the same batches logged groups of different ids, else equal (``same_log``
    False)."""
    same_windows(ours, theirs)
    assert join_contents(ours.join) == join_contents(theirs.join)
    assert (ours.next_feature_offset, ours.next_label_offset) == (
        theirs.next_feature_offset,
        theirs.next_label_offset,
    )
    assert ours.expired_through == theirs.expired_through
    assert ours.logged_count == theirs.logged_count
    assert len(ours.to_retire) == len(theirs.to_retire)
    if same_log:
        assert ours.logged == theirs.logged
        assert ours.latest == theirs.latest and ours.to_retire == theirs.to_retire
    else:
        assert ours.logged.same_groups(theirs.logged)


def restorer(settings: Settings, pipeline: Pipeline) -> PartitionRestorer:
    return PartitionRestorer(settings, CHANGELOG, pipeline.fresh_state, pipeline.profile_of)


def compact_from(rows: list[Row], cut: int) -> list[bytes | None]:
    """What the log cleaner may leave of ``rows[cut:]``: the last record of each key (in the
    whole log) at its place, nothing of a key whose last record is a tombstone."""
    last = {key: index for index, (key, _) in enumerate(rows)}
    return [value for index, (key, value) in enumerate(rows)
            if index >= cut and last[key] == index and value is not None]  # fmt: skip


@pytest.mark.parametrize("compacted", [False, True])
def test_a_snapshot_and_the_changelog_after_it_rebuild_what_the_whole_changelog_does(
    settings: Settings, champion: Champion, challenger: Champion, compacted: bool
) -> None:
    rows = live_rows(new_pipeline(champion, [0], settings), champion, challenger, batches())
    whole = new_pipeline(champion, [], settings)
    full = whole.fresh_state(0)
    replay(whole, [value for _, value in rows], full)
    assert full.join.spilled_entries > 500 and join_contents(full.join)[ORPHAN]
    assert any("challengers" in s.to_dict() for _, s in full.windows)
    for cut in (len(rows) // 3, 2 * len(rows) // 3, len(rows)):
        # The snapshot: what a worker held once it had logged rows[:cut].
        before = new_pipeline(champion, [], settings)
        held = before.fresh_state(0)
        replay(before, [value for _, value in rows[:cut]], held)
        write_snapshot(SnapshotPlace(settings, CHANGELOG), held, cut)
        after = new_pipeline(champion, [], settings)
        progress = RestoreProgress(0, end=len(rows))
        state, start = restorer(settings, after).start_state(0, progress)
        assert start == cut and progress.snapshot is not None and progress.snapshot["used"]
        tail = compact_from(rows, cut) if compacted else [value for _, value in rows[cut:]]
        replay(after, tail, state)
        same_everything(state, full, same_log=True)
        state.join.close()
    full.join.close()


def test_a_worker_resumed_from_a_snapshot_answers_as_one_that_never_stopped(
    settings: Settings, champion: Champion, challenger: Champion
) -> None:
    todo = batches()
    stayed = new_pipeline(champion, [0], settings)
    stopped = new_pipeline(champion, [0], settings)
    assert live_rows(stayed, champion, challenger, todo[:30])
    rows = live_rows(stopped, champion, challenger, todo[:30])
    write_snapshot(SnapshotPlace(settings, CHANGELOG), stopped.states[0], len(rows))
    stopped.revoke(0)
    resumed = new_pipeline(champion, [], settings)
    progress = RestoreProgress(0, end=len(rows))
    state, start = restorer(settings, resumed).start_state(0, progress)
    assert start == len(rows)
    replayed = new_pipeline(champion, [], settings)
    full = replayed.fresh_state(0)
    replay(replayed, [value for _, value in rows], full)
    same_everything(state, full, same_log=True)  # the live state is what a replay builds
    resumed.adopt(state)
    for index, batch in enumerate(todo[30:], start=30):
        ours = process(resumed, champion, challenger, batch, index)
        theirs = process(stayed, champion, challenger, batch, index)
        assert summary(ours) == summary(theirs)
    assert resumed.states[0].join.spilled_entries > 0
    same_everything(resumed.states[0], stayed.states[0], same_log=False)


def test_a_snapshot_captured_while_the_worker_goes_on_holds_the_state_when_it_was_captured(
    settings: Settings, champion: Champion, challenger: Champion
) -> None:
    """The periodic snapshot of a running worker: captured between two batches, written
    after the live state has moved on (entries joined, expired, spilled, windows closed). It
    still holds the state at its offset, and the live worker is as one that never took it."""
    todo = batches()
    running = new_pipeline(champion, [0], settings)
    untouched = new_pipeline(champion, [0], settings)
    rows = live_rows(running, champion, challenger, todo[:30])
    live_rows(untouched, champion, challenger, todo[:30])
    held = running.states[0]
    assert held.join.spilled_entries > 0 and held.join.memory_entry_count > 0
    pending = capture_snapshot(SnapshotPlace(settings, CHANGELOG), held, len(rows))
    assert pending.join.entries == held.join.spilled_entries + held.join.memory_entry_count
    later = live_rows(running, champion, challenger, todo[30:])
    live_rows(untouched, champion, challenger, todo[30:])
    pending.write()
    same_everything(running.states[0], untouched.states[0], same_log=False)
    # A crash now: the next owner loads the snapshot and replays the changelog after it.
    resumed = new_pipeline(champion, [], settings)
    progress = RestoreProgress(0, end=len(rows) + len(later))
    state, start = restorer(settings, resumed).start_state(0, progress)
    assert start == len(rows) and progress.snapshot is not None and progress.snapshot["used"]
    replay(resumed, [value for _, value in later], state)
    replayed = new_pipeline(champion, [], settings)
    full = replayed.fresh_state(0)
    replay(replayed, [value for _, value in rows + later], full)
    same_everything(state, full, same_log=True)
    for join in (state.join, full.join):
        join.close()


def summary(out: BatchOutput) -> dict[str, Any]:
    """A batch's outputs without their clocks."""
    labeled = [decode(LabeledExample, value) for _, value, _ in out.labeled.get(0, [])]
    return {
        "predicted": [key for key, _ in out.predictions.get(0, [])],
        "labeled": [(x.event_id, x.label) for x in labeled],
        "dead": [(d.key, d.reason) for d in out.dead_letters],
        "closed": [
            (version, window, orjson.dumps(s.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY))
            for close in out.closes
            for version, window, s in close.windows
        ],
    }


# --- snapshots not to use ----------------------------------------------------------------------
def snapshot_of(settings: Settings, champion: Champion, challenger: Champion) -> int:
    """A snapshot of partition 0 after a few batches; returns its offset."""
    pipeline = new_pipeline(champion, [0], settings)
    rows = live_rows(pipeline, champion, challenger, batches(8))
    write_snapshot(SnapshotPlace(settings, CHANGELOG), pipeline.states[0], len(rows))
    return len(rows)


def falls_back(settings: Settings, champion: Champion, end: int, caplog: Any) -> str:
    """Start a restore; assert that it replays everything; return the reason it gave."""
    pipeline = new_pipeline(champion, [], settings)
    progress = RestoreProgress(0, end=end)
    with caplog.at_level(logging.WARNING, logger="stream"):
        state, start = restorer(settings, pipeline).start_state(0, progress)
    assert start == 0 and state.latest is None and state.join.pending_events == 0
    assert progress.snapshot is not None and not progress.snapshot["used"]
    assert not SnapshotPlace(settings, CHANGELOG).folder(0).exists()  # deleted
    assert not [p for p in (settings.home / "stream-state").iterdir() if "snapshot-" in p.name]
    return str(progress.snapshot["reason"])


def test_a_snapshot_past_the_changelogs_end_is_not_used(
    settings: Settings, champion: Champion, challenger: Champion, caplog: Any
) -> None:
    offset = snapshot_of(settings, champion, challenger)
    reason = falls_back(settings, champion, offset - 1, caplog)
    assert "past the changelog's end" in reason and reason in caplog.text


def test_a_snapshot_of_another_format_or_settings_is_not_used(
    settings: Settings, champion: Champion, challenger: Champion, caplog: Any
) -> None:
    offset = snapshot_of(settings, champion, challenger)
    path = SnapshotPlace(settings, CHANGELOG).folder(0) / STATE_FILE
    document = blob_json.loads(path.read_bytes())
    path.write_bytes(blob_json.dumps({**document, "format": 99}))
    assert "format is 99" in falls_back(settings, champion, offset, caplog)
    snapshot_of(settings, champion, challenger)
    other = settings.model_copy(update={"join_ttl_seconds": 60.0})
    assert "made with" in falls_back(other, champion, offset, caplog)


def test_a_snapshot_without_its_state_or_unreadable_is_not_used(
    settings: Settings, champion: Champion, challenger: Champion, caplog: Any
) -> None:
    offset = snapshot_of(settings, champion, challenger)
    (SnapshotPlace(settings, CHANGELOG).folder(0) / STATE_FILE).unlink()
    assert "written incompletely" in falls_back(settings, champion, offset, caplog)
    snapshot_of(settings, champion, challenger)
    (SnapshotPlace(settings, CHANGELOG).folder(0) / STATE_FILE).write_bytes(b'{"format"')
    assert "could not be read" in falls_back(settings, champion, offset, caplog)


def test_a_half_written_snapshot_is_never_read_and_is_deleted(
    settings: Settings, champion: Champion, challenger: Champion, caplog: Any
) -> None:
    offset = snapshot_of(settings, champion, challenger)
    place = SnapshotPlace(settings, CHANGELOG)
    # What a writer that died before its final rename leaves (pid 2**22 + 1: never running).
    half = place.root / f"{WRITING}{place.folder(0).name}-{2**22 + 1}-0badf00d"
    place.folder(0).rename(half)
    assert falls_back(settings, champion, offset, caplog) == "none"
    assert "left half-written" in caplog.text and not half.exists()


def test_of_two_takers_only_one_gets_the_snapshot(
    settings: Settings, champion: Champion, challenger: Champion
) -> None:
    snapshot_of(settings, champion, challenger)
    place = SnapshotPlace(settings, CHANGELOG)
    start = threading.Barrier(8)
    taken: list[Path | None] = []

    def take() -> None:
        start.wait()
        taken.append(take_snapshot(place, 0))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [path for path in taken if path is not None]
    assert len(winners) == 1 and (winners[0] / STATE_FILE).exists()
    assert take_snapshot(place, 0) is None  # used once
