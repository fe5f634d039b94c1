"""When a running worker snapshots: at most once per interval (and at once after a restore),
only partitions that logged a group since their last snapshot, and a leaving partition's
snapshot is never overtaken by a periodic one still being written."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from centinela.contract.settings import Settings
from stream import blob_json, snapshot_schedule
from stream.champion import Champion
from stream.pipeline import Pipeline
from stream.sink import changelog_rows
from stream.snapshot import STATE_FILE
from stream.snapshot_schedule import SnapshotSchedule
from tests.stream.test_pipeline import FakeMessage, champion
from tests.stream.test_shadow import challenger
from tests.stream.test_snapshot import CHANGELOG, batches, live_rows, new_pipeline

__all__ = ["challenger", "champion"]  # the module fixtures of the pipeline and shadow tests


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    from tests.stream.test_pipeline import SETTINGS

    return SETTINGS.model_copy(
        update={"home": tmp_path, "join_memory_entries": 40, "state_snapshot_interval_seconds": 0.2}
    )


def logged_on_two_partitions(pipeline: Pipeline, champion: Champion) -> int:
    """The same batches on partitions 0 and 1; the changelog rows each logged."""
    rows = 0
    for feats, labels in batches(20):
        out = pipeline.process(
            champion,
            {p: [FakeMessage(p, m.offset, m.key, m.value) for m in feats] for p in (0, 1)},
            {p: [FakeMessage(p, m.offset, m.key, m.value) for m in labels] for p in (0, 1)},
            labels_caught_up=lambda p: True,
            received_at=0.0,
        )
        rows += len(changelog_rows(out.changelog[0]))
    return rows


def schedule_of_rounds(settings: Settings, round_gap_seconds: float) -> SnapshotSchedule:
    """A schedule whose first round is due now and the next one a minute later."""
    schedule = SnapshotSchedule(
        settings.model_copy(update={"state_snapshot_interval_seconds": 60}),
        CHANGELOG,
        round_gap_seconds=round_gap_seconds,
    )
    schedule.soon()
    return schedule


def snapshot_offset(schedule: SnapshotSchedule, partition: int) -> int:
    document = blob_json.loads((schedule.place.folder(partition) / STATE_FILE).read_bytes())
    return int(document["offset"])


def test_a_periodic_snapshot_is_due_at_most_once_per_interval(settings: Settings) -> None:
    schedule = SnapshotSchedule(settings, CHANGELOG)
    assert not schedule.due()  # the interval counts from the start
    time.sleep(0.25)
    assert schedule.due() and not schedule.due()
    schedule.soon()  # a partition was just restored: its snapshot is used up
    assert schedule.due() and not schedule.due()
    for off in ({"state_snapshot_interval_seconds": 0.0}, {"state_snapshots": False}):
        never = SnapshotSchedule(settings.model_copy(update=off), CHANGELOG)
        time.sleep(0.25)
        assert not never.due()


def test_a_due_snapshot_waits_for_a_settled_moment_but_not_forever(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_schedule, "SETTLED_WAIT_SECONDS", 0.2)
    schedule = SnapshotSchedule(settings, CHANGELOG)
    schedule.soon()
    assert not schedule.due(settled=False)  # batches are settling: the capture would wait
    assert schedule.due(settled=True)  # nothing left to settle: at once
    schedule.soon()
    assert not schedule.due(settled=False)
    time.sleep(0.25)  # a saturated stream is never settled: due after the wait anyway
    assert schedule.due(settled=False) and not schedule.due(settled=False)


def test_only_partitions_that_logged_since_their_last_snapshot_are_snapshotted_again(
    settings: Settings, champion: Champion, challenger: Champion
) -> None:
    todo = batches(20)
    pipeline = new_pipeline(champion, [0, 1], settings)
    schedule = SnapshotSchedule(settings, CHANGELOG)

    async def periodic(ends: dict[int, int]) -> None:
        schedule.periodic(pipeline.states, ends)
        if schedule._writing is not None:
            await schedule._writing

    rows = len(live_rows(pipeline, champion, challenger, todo[:10]))  # partition 0 only
    asyncio.run(periodic({0: rows, 1: 0}))
    assert snapshot_offset(schedule, 0) == rows
    assert not schedule.place.folder(1).exists()  # nothing logged: nothing to keep
    asyncio.run(periodic({0: rows + 5, 1: 0}))  # nothing new: the snapshot stays as it was
    assert snapshot_offset(schedule, 0) == rows
    more = rows + len(live_rows(pipeline, champion, challenger, todo[10:]))
    asyncio.run(periodic({0: more, 1: 0}))
    assert snapshot_offset(schedule, 0) == more
    schedule.forget(0)  # the partition left and came back: its state is new
    asyncio.run(periodic({0: more + 1, 1: 0}))
    assert snapshot_offset(schedule, 0) == more + 1
    pipeline.close()


def test_a_leaving_partitions_snapshot_lands_after_a_periodic_one_being_written(
    settings: Settings, champion: Champion, challenger: Champion
) -> None:
    pipeline = new_pipeline(champion, [0], settings)
    rows = len(live_rows(pipeline, champion, challenger, batches(12)))
    schedule = SnapshotSchedule(settings, CHANGELOG)

    async def periodic_then_leave() -> None:
        schedule.periodic(pipeline.states, {0: rows - 1})  # written in a thread, meanwhile:
        await schedule.leaving([pipeline.states[0]], {0: rows})

    asyncio.run(periodic_then_leave())
    assert snapshot_offset(schedule, 0) == rows
    pipeline.close()


def test_a_periodic_round_captures_one_partition_per_pause_after_the_last_is_written(
    settings: Settings, champion: Champion
) -> None:
    pipeline = new_pipeline(champion, [0, 1], settings)
    rows = logged_on_two_partitions(pipeline, champion)
    schedule = schedule_of_rounds(settings, round_gap_seconds=1.0)
    ends = {0: rows, 1: rows}

    async def round_of_pauses() -> list[tuple[bool, list[bool]]]:
        seen = []
        for wait_after in (0.0, 1.1, 0.0, 0.0):  # pauses between batches
            due = schedule.due()
            if due:
                schedule.periodic(pipeline.states, ends)
            written = [schedule.place.folder(p).exists() for p in (0, 1)]
            seen.append((due, written))
            if schedule._writing is not None:
                await schedule._writing
            await asyncio.sleep(wait_after)
        return seen

    # Pause 1 starts the round with partition 0 alone; pause 2, right after its write, is
    # inside the gap after it; pause 3, past the gap, takes partition 1 without waiting for the
    # interval; pause 4: the round is over, the next is 60 s away.
    assert asyncio.run(round_of_pauses()) == [
        (True, [False, False]),
        (False, [True, False]),
        (True, [True, False]),
        (False, [True, True]),
    ]
    assert snapshot_offset(schedule, 0) == snapshot_offset(schedule, 1) == rows
    pipeline.close()


def test_a_partition_that_leaves_during_a_round_is_not_captured_by_it(
    settings: Settings, champion: Champion
) -> None:
    pipeline = new_pipeline(champion, [0, 1], settings)
    rows = logged_on_two_partitions(pipeline, champion)
    schedule = schedule_of_rounds(settings, round_gap_seconds=0.0)

    async def round_with_a_revocation() -> bool:
        assert schedule.due()
        schedule.periodic(pipeline.states, {0: rows, 1: rows})  # partition 0
        assert schedule._writing is not None
        await schedule._writing
        schedule.forget(1)  # revoked before its turn
        return schedule.due()

    assert asyncio.run(round_with_a_revocation()) is False  # the round has nothing left
    assert not schedule.place.folder(1).exists()
    pipeline.close()
