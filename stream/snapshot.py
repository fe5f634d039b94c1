"""Snapshots of a partition's state on local disk, so that a restart replays only the changelog
written after them (docs/architecture.md, "State and recovery").

When a partition leaves the worker cleanly (revoked, or the worker stops), every batch the
worker processed has been delivered, logged to the changelog and committed. The partition's
state is then exactly what a replay of its changelog up to the changelog's end offset builds,
and it is kept under ``<home>/stream-state/snapshots/<group>-<changelog>-p<partition>/``:

- ``join/``: the join's RocksDB (:mod:`stream.spill`), every entry of its memory moved there;
- ``state.bin``: everything else, as :mod:`stream.blob_json` (the open window summaries'
  arrays as they are), with that end offset, the changelog's name and :data:`FORMAT`.

It is written in a folder of its own and renamed into place, so a crash mid-write leaves no
half snapshot. The next owner on the same machine renames it into a folder of its own before
reading it (of two processes, one wins the rename), loads it and replays the changelog from
its offset. A snapshot is used once: the live state moves on from it at once.

Why a snapshot however old, followed by the tail, rebuilds what a whole replay builds: the
changelog only grows by groups applied in log order, and the snapshot is the replay of the
log before its offset. Compaction removes from the tail only groups that a later group
retired (:func:`stream.state.retire_groups`), and a group is retired only once nothing of it
can still be in the state; a replay that skips such groups builds the same state, as the
whole replay of a compacted log does (``tests/stream/test_compacted_changelog.py``).
Tombstones themselves are not applied, so the ones in the tail change nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.structs import TopicPartition

from centinela.contract.settings import Settings
from centinela.drift.summary import WindowSummary
from centinela.exceptions import CentinelaError
from centinela.models.profile import ReferenceProfile
from centinela.stack.process import process_alive
from stream import blob_json
from stream.group_ledger import GroupLedger
from stream.internal_topics import group_base
from stream.spill import SpillStore
from stream.state import LoggedGroup, PartitionState, spill_folder
from stream.window_buffer import BufferedSummary

log = logging.getLogger(__name__)

FORMAT = 2  # 2: the logged groups by bucket (stream.group_ledger)
STATE_FILE = "state.bin"
JOIN_FOLDER = "join"
WRITING = ".writing-"  # a snapshot being written: never read
END_OFFSET_SECONDS = 10.0


class UnusableSnapshotError(CentinelaError):
    """A snapshot that cannot be used; the message says why. The whole changelog is replayed."""


def replay_settings(settings: Settings) -> dict[str, float]:
    """The settings that change what a replay builds: a snapshot made under others is stale."""
    return {
        "join_ttl_seconds": settings.join_ttl_seconds,
        "window_seconds": settings.window_seconds,
        "allowed_lateness_seconds": settings.allowed_lateness_seconds,
        "window_exact_cap": settings.window_exact_cap,
    }


@dataclass(frozen=True)
class SnapshotPlace:
    """Where one worker group's snapshots of one changelog live."""

    settings: Settings
    changelog: str

    @property
    def root(self) -> Path:
        return self.settings.home / "stream-state" / "snapshots"

    def folder(self, partition: int) -> Path:
        return self.root / f"{group_base(self.settings)}-{self.changelog}-p{partition}"


# --- writing -----------------------------------------------------------------------------------
async def save_snapshots(
    place: SnapshotPlace,
    states: Sequence[PartitionState],
    end_offsets: Callable[[list[TopicPartition]], Any],
) -> None:
    """Snapshot ``states``, whose partitions leave the worker. Call only once every batch
    processed for them is delivered, logged and committed. ``end_offsets`` is the consumer's
    (the changelog's end, asked now, covers every group they logged). A failure costs only
    time: the next owner replays the whole changelog."""
    if not place.settings.state_snapshots or not states:
        return
    tps = [TopicPartition(place.changelog, state.partition) for state in states]
    try:
        ends = await asyncio.wait_for(end_offsets(tps), END_OFFSET_SECONDS)
    except Exception as error:
        log.warning("no state snapshots: the changelog's end offsets did not come (%r)", error)
        return
    for state, tp in zip(states, tps, strict=True):
        try:
            folder = await asyncio.to_thread(write_snapshot, place, state, ends[tp])
        except Exception:
            log.exception("partition %d: writing its state snapshot failed", state.partition)
            continue
        log.info(
            "partition %d: state snapshot at changelog offset %d in %s",
            state.partition,
            ends[tp],
            folder,
        )


def write_snapshot(place: SnapshotPlace, state: PartitionState, offset: int) -> Path:
    """Write ``state`` as the snapshot of its partition at changelog ``offset``; replaces an
    older one. The state's join is left empty (its entries went to the snapshot)."""
    final = place.folder(state.partition)
    temp = place.root / f"{WRITING}{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp.mkdir(parents=True)
    try:
        spill = state.join.hand_over_disk()
        if spill is not None:
            spill.path.rename(temp / JOIN_FOLDER)
        document = describe(place, state, offset, None if spill is None else spill.entries)
        with (temp / STATE_FILE).open("wb") as file:
            file.write(blob_json.dumps(document))
            file.flush()
            os.fsync(file.fileno())
        discard(final)  # an older snapshot of the partition, never taken
        temp.rename(final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return final


def describe(
    place: SnapshotPlace, state: PartitionState, offset: int, spilled: int | None
) -> dict[str, Any]:
    """Everything of ``state`` but its join's entries, as plain JSON types and bytes."""
    windows = state.windows
    return {
        "format": FORMAT,
        "changelog": place.changelog,
        "partition": state.partition,
        "offset": offset,
        "written_at": datetime.now(UTC).isoformat(),
        "settings": replay_settings(place.settings),
        "next_feature_offset": state.next_feature_offset,
        "next_label_offset": state.next_label_offset,
        "expired_through": state.expired_through,
        "logged": state.logged.to_document(),
        "latest": None if state.latest is None else _group(state.latest),
        "logged_count": state.logged_count,
        "to_retire": [key.decode() for key in state.to_retire],
        "closed_through": windows.closed_through,
        "feature_watermark": windows.feature_watermark,
        "label_watermark": windows.label_watermark,
        "windows": [summary.to_dict(binary=True) for _, summary in windows],
        "join_spilled": spilled,
    }


def _group(group: LoggedGroup) -> list[Any]:
    newest = None if group.newest_ts == float("-inf") else group.newest_ts  # JSON has no -inf
    return [group.group_id, group.chunks, newest, group.newest_window]


def _logged(fields: list[Any]) -> LoggedGroup:
    group_id, chunks, newest, window = fields
    return LoggedGroup(group_id, chunks, float("-inf") if newest is None else newest, window)


def discard(folder: Path) -> None:
    """Delete a snapshot folder; renamed away first, so no reader ever sees half of one."""
    doomed = folder.with_name(f"{WRITING}discarded-{uuid.uuid4().hex[:8]}")
    try:
        folder.rename(doomed)
    except FileNotFoundError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


# --- taking ------------------------------------------------------------------------------------
def take_snapshot(place: SnapshotPlace, partition: int) -> Path | None:
    """Move the partition's snapshot into a folder of this process's own, or None when there
    is none. The rename is atomic: of two processes, only one takes it."""
    _clear_unfinished(place, partition)
    name = f"{os.getpid()}-p{partition}-snapshot-{uuid.uuid4().hex[:8]}"
    taken = place.settings.home / "stream-state" / name
    try:
        place.folder(partition).rename(taken)
    except FileNotFoundError:
        return None
    return taken


def _clear_unfinished(place: SnapshotPlace, partition: int) -> None:
    """Delete snapshots of the partition left half-written by a process that died."""
    prefix = f"{WRITING}{place.folder(partition).name}-"
    if not place.root.is_dir():
        return
    for folder in place.root.iterdir():
        if not folder.name.startswith(prefix):
            continue
        pid = folder.name.removeprefix(prefix).split("-")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            log.warning(
                "partition %d: deleting a state snapshot left half-written (%s)",
                partition,
                folder,
            )
            shutil.rmtree(folder, ignore_errors=True)


def load_snapshot(
    taken: Path,
    state: PartitionState,
    place: SnapshotPlace,
    end: int,
    profile_of: Callable[[str], ReferenceProfile],
) -> dict[str, Any]:
    """Fill the fresh ``state`` from the snapshot in ``taken`` (deleted afterwards, used or
    not); returns its description (its ``offset``: where the changelog replay goes on).
    Raises UnusableSnapshotError, with the reason, for a snapshot that must not be used; the
    caller then discards ``state`` and replays the whole changelog."""
    try:
        try:
            record = (taken / STATE_FILE).read_bytes()
        except FileNotFoundError as error:
            raise UnusableSnapshotError(f"it has no {STATE_FILE} (written incompletely)") from error
        document = blob_json.loads(record)
        _check(document, place, state.partition, end)
        _fill(state, document, profile_of)
        spilled = document["join_spilled"]
        if spilled is not None:
            path = spill_folder(place.settings, state.partition)
            (taken / JOIN_FOLDER).rename(path)
            state.join.take_over_disk(SpillStore(path, entries=spilled))
    except UnusableSnapshotError:
        raise
    except Exception as error:  # unreadable, or a bug: never worth more than a full replay
        raise UnusableSnapshotError(
            f"it could not be read: {type(error).__name__}: {error}"
        ) from error
    finally:
        shutil.rmtree(taken, ignore_errors=True)
    return {"offset": document["offset"], "written_at": document["written_at"]}


def _check(document: dict[str, Any], place: SnapshotPlace, partition: int, end: int) -> None:
    if document.get("format") != FORMAT:
        raise UnusableSnapshotError(f"its format is {document.get('format')!r}, not {FORMAT}")
    if document["changelog"] != place.changelog or document["partition"] != partition:
        raise UnusableSnapshotError(
            f"it is of {document['changelog']}-{document['partition']}, "
            f"not {place.changelog}-{partition}"
        )
    if document["offset"] > end:
        raise UnusableSnapshotError(
            f"its changelog offset {document['offset']} is past the changelog's end {end} "
            "(the topic was deleted and created again?)"
        )
    if document["settings"] != replay_settings(place.settings):
        raise UnusableSnapshotError(
            f"it was made with {document['settings']}, not {replay_settings(place.settings)}"
        )


def _fill(
    state: PartitionState,
    document: dict[str, Any],
    profile_of: Callable[[str], ReferenceProfile],
) -> None:
    state.next_feature_offset = document["next_feature_offset"]
    state.next_label_offset = document["next_label_offset"]
    state.expired_through = document["expired_through"]
    state.logged = GroupLedger.from_document(state.horizon, document["logged"])
    state.latest = None if document["latest"] is None else _logged(document["latest"])
    state.logged_count = document["logged_count"]
    state.to_retire = [key.encode() for key in document["to_retire"]]
    windows = state.windows
    windows.closed_through = document["closed_through"]
    windows.feature_watermark = document["feature_watermark"]
    windows.label_watermark = document["label_watermark"]
    for data in document["windows"]:
        summary = WindowSummary.from_dict(data)
        buffered = BufferedSummary(summary, profile_of(summary.model_version))
        windows.put_back(summary.model_version, summary.window_id, buffered)
