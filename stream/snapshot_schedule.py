"""When a stream worker snapshots its partitions (:mod:`stream.snapshot`): when they leave it
cleanly, and every ``CENTINELA_STATE_SNAPSHOT_INTERVAL_SECONDS`` while it runs.

The worker calls both only at a moment when its states match the changelog: every batch
processed is delivered and logged, and the next one waits (it holds its batching lock). A
periodic snapshot is captured then, and written while the stream goes on; only partitions that
logged a group since their last one are snapshotted again, and a partition just restored is
snapshotted at the next batch (its snapshot was used up by the restore). A snapshot of a
leaving partition waits for a periodic one still being written, so that an older one never
lands after it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping, Sequence

from centinela.contract.settings import Settings
from stream.snapshot import SnapshotPlace, capture_snapshots, write_snapshots
from stream.state import PartitionState

log = logging.getLogger(__name__)


class SnapshotSchedule:
    """Snapshots of one worker's partitions of one changelog."""

    def __init__(self, settings: Settings, changelog: str) -> None:
        self.settings = settings
        self.place = SnapshotPlace(settings, changelog)
        self._last = time.monotonic()
        self._writing: asyncio.Future[None] | None = None  # periodic snapshots being written
        self._marks: dict[int, str] = {}  # partition -> its latest group when captured

    def due(self) -> bool:
        """Whether a periodic snapshot is due (and none is still being written). True at most
        once per interval: the caller takes the snapshot then, or skips this one."""
        interval = self.settings.state_snapshot_interval_seconds
        now = time.monotonic()
        if (
            interval <= 0
            or not self.settings.state_snapshots
            or (self._writing is not None and not self._writing.done())
            or now - self._last < interval
        ):
            return False
        self._last = now
        return True

    async def leaving(self, states: Sequence[PartitionState], ends: Mapping[int, int]) -> None:
        """Snapshot ``states``, whose partitions leave the worker; returns once written.
        ``ends``: see :func:`~stream.snapshot.capture_snapshots`."""
        if self._writing is not None:
            await self._writing  # a periodic snapshot must not land after this one
        await write_snapshots(capture_snapshots(self.place, states, ends))
        for state in states:
            self.forget(state.partition)

    def periodic(self, states: Mapping[int, PartitionState], ends: Mapping[int, int]) -> None:
        """Capture the states that logged a group since their last snapshot and write them
        in the background."""
        changed = [state for _, state in sorted(states.items()) if self._logged_since(state)]
        started = time.monotonic()
        pending = capture_snapshots(self.place, changed, ends)
        for snapshot in pending:
            latest = states[snapshot.partition].latest
            assert latest is not None  # _logged_since
            self._marks[snapshot.partition] = latest.group_id
        if pending:
            log.info(
                "captured state snapshots of partitions %s in %.0f ms; writing them",
                [snapshot.partition for snapshot in pending],
                1000 * (time.monotonic() - started),
            )
            self._writing = asyncio.ensure_future(write_snapshots(pending))

    def soon(self) -> None:
        """Make the next periodic snapshot due at once: a partition just restored from a
        snapshot has none left on the machine (it is used once), so that a second crash
        soon after would replay its whole changelog."""
        self._last = -math.inf

    def forget(self, partition: int) -> None:
        """The partition left: if it comes back, its state is a new one."""
        self._marks.pop(partition, None)

    def _logged_since(self, state: PartitionState) -> bool:
        latest = state.latest
        return latest is not None and self._marks.get(state.partition) != latest.group_id
