"""Snapshots of a partition's state on local disk, so that a restart replays only the changelog
written after them (docs/architecture.md, "State and recovery").

A snapshot is taken when every batch the worker processed has been delivered and logged to the
changelog, and before the next one is processed: then the partition's state is exactly what a
replay of its changelog up to the offset after the last group it logged builds. That is so
when a partition leaves the worker cleanly (revoked, or the worker stops), and, every
``CENTINELA_STATE_SNAPSHOT_INTERVAL_SECONDS``, between two batches of a running worker, so
that after a crash too (a SIGKILL, an out-of-memory kill) the next owner replays only the
changelog written since the last one. The state is captured while the stream waits, which is
quick (:func:`capture_snapshot`), and written while it goes on, to
``<home>/stream-state/snapshots/<group>-<changelog>-p<partition>/``:

- ``join/``: the join's RocksDB (:mod:`stream.spill`) as a checkpoint, with the entries that
  were in memory added (:mod:`stream.join_copy`);
- ``state.bin``: everything else, as :mod:`stream.blob_json` (the open window summaries'
  arrays as they are), with that offset, the changelog's name and :data:`FORMAT`.

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
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from centinela.contract.settings import Settings
from centinela.drift.summary import WindowSummary
from centinela.exceptions import CentinelaError
from centinela.models.profile import ReferenceProfile
from centinela.stack.process import process_alive
from stream import blob_json
from stream.group_ledger import GroupLedger
from stream.internal_topics import group_base
from stream.join_copy import JoinCopy, copy_join
from stream.spill import SpillStore
from stream.state import LoggedGroup, PartitionState, spill_folder
from stream.window_buffer import BufferedSummary

log = logging.getLogger(__name__)

FORMAT = 2  # 2: the logged groups by bucket (stream.group_ledger)
STATE_FILE = "state.bin"
JOIN_FOLDER = "join"
WRITING = ".writing-"  # a snapshot being written: never read


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
@dataclass(frozen=True, eq=False)
class PendingSnapshot:
    """A partition's state as it was when captured, to write into place in any thread: its
    join's copy and the rest of its state, already printed."""

    place: SnapshotPlace
    partition: int
    offset: int
    temp: Path  # the snapshot's folder while it is written; renamed into place when complete
    join: JoinCopy
    document: bytes

    def write(self) -> Path:
        """Write the snapshot and put it in place of an older one; returns its folder."""
        final = self.place.folder(self.partition)
        try:
            self.join.write()
            with (self.temp / STATE_FILE).open("wb") as file:
                file.write(self.document)
                file.flush()
                os.fsync(file.fileno())
            discard(final)  # an older snapshot of the partition, never taken
            self.temp.rename(final)
        except BaseException:
            shutil.rmtree(self.temp, ignore_errors=True)
            raise
        return final


def capture_snapshot(place: SnapshotPlace, state: PartitionState, offset: int) -> PendingSnapshot:
    """Capture ``state``, which is what the changelog up to ``offset`` rebuilds, without
    changing it: quick (no entry of its join is written yet), so that the stream waits only
    for this; :meth:`PendingSnapshot.write` does the rest."""
    temp = (
        place.root
        / f"{WRITING}{place.folder(state.partition).name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    )
    temp.mkdir(parents=True)
    try:
        join = copy_join(state.join, temp / JOIN_FOLDER)
        document = blob_json.dumps(describe(place, state, offset, join.entries))
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return PendingSnapshot(place, state.partition, offset, temp, join, document)


def write_snapshot(place: SnapshotPlace, state: PartitionState, offset: int) -> Path:
    """Capture ``state`` and write it at once (the state is left as it was)."""
    return capture_snapshot(place, state, offset).write()


def capture_snapshots(
    place: SnapshotPlace, states: Sequence[PartitionState], ends: Mapping[int, int]
) -> list[PendingSnapshot]:
    """Capture ``states``. Call only once every batch processed for them is delivered and
    logged, and before the next one is processed; ``ends`` is then, by partition, the offset
    after the last changelog record the worker wrote (or the changelog's end that its
    restore read to). A failure costs only time: a restore replays more of the changelog."""
    if not place.settings.state_snapshots:
        return []
    pending = []
    for state in states:
        end = ends.get(state.partition)
        if end is None:
            log.warning(
                "partition %d: no state snapshot: its changelog end is unknown", state.partition
            )
            continue
        try:
            pending.append(capture_snapshot(place, state, end))
        except Exception:
            log.exception("partition %d: capturing its state snapshot failed", state.partition)
    return pending


async def write_snapshots(pending: Sequence[PendingSnapshot]) -> None:
    """Write captured snapshots, one after the other, in a thread."""
    for snapshot in pending:
        started = time.monotonic()
        try:
            folder = await asyncio.to_thread(snapshot.write)
        except Exception:
            log.exception("partition %d: writing its state snapshot failed", snapshot.partition)
            continue
        log.info(
            "partition %d: state snapshot at changelog offset %d (%d join entries) in %s, "
            "written in %.1fs",
            snapshot.partition,
            snapshot.offset,
            snapshot.join.entries,
            folder,
            time.monotonic() - started,
        )


def describe(
    place: SnapshotPlace, state: PartitionState, offset: int, join_entries: int
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
        "join_spilled": join_entries,  # in the snapshot's join folder
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
