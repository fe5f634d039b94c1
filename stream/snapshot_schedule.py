"""When a stream worker snapshots its partitions (:mod:`stream.snapshot`): when they leave it
cleanly, and every ``CENTINELA_STATE_SNAPSHOT_INTERVAL_SECONDS`` while it runs.

The worker calls both only at a moment when its states match the changelog: every batch
processed is delivered and logged, and the next one waits (it holds its batching lock). A
periodic snapshot is captured then, and written while the stream goes on; only partitions that
logged a group since their last one are snapshotted again, and a partition just restored is
snapshotted at the next batch (its snapshot was used up by the restore). A snapshot of a
leaving partition waits for a periodic one still being written, so that an older one never
lands after it.

A capture needs every batch processed to be settled first, and the stream waits for that:
after a window close, for the encoding and delivery of its partials. So a periodic capture
waits for a moment when nothing is left to settle (at most ``SETTLED_WAIT_SECONDS``).

A periodic round takes one partition at a time: each is captured between two batches once the
previous one is written and ``ROUND_GAP_SECONDS`` after it was captured. Capturing all of a
worker's partitions in one pause held the stream for 130-260 ms (4 partitions of ~60,000 join
entries), one of the longest stalls of the latency benchmark; one partition holds it for a
quarter of that. The gap spreads the writing too: a snapshot is written in a thread that takes
the interpreter lock from the event loop while it encodes the join's entries (0.1-0.3 s per
partition), and back to back the four writes slowed the loop for over a second.
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

ROUND_GAP_SECONDS = 2.0  # between two captures of a periodic round
SETTLED_WAIT_SECONDS = 1.0  # a capture waits this long at most for a moment with nothing to settle


class SnapshotSchedule:
    """Snapshots of one worker's partitions of one changelog."""

    def __init__(
        self, settings: Settings, changelog: str, round_gap_seconds: float = ROUND_GAP_SECONDS
    ) -> None:
        self.settings = settings
        self.round_gap_seconds = round_gap_seconds
        self.place = SnapshotPlace(settings, changelog)
        self._last = time.monotonic()
        self._writing: asyncio.Future[None] | None = None  # periodic snapshots being written
        self._marks: dict[int, str] = {}  # partition -> its latest group when captured
        self._round: list[int] = []  # partitions still to capture in the round under way
        self._next_in_round = 0.0  # monotonic: the round's next capture not before then
        self._unsettled_since: float | None = None  # monotonic: due, but batches were settling

    def due(self, settled: bool = True) -> bool:
        """Whether to call :meth:`periodic` now: a round is under way, its last capture is
        written and the gap after it is over, or a new round is due (none is still being
        written). A new round is due at most once per interval: the caller starts it then,
        or skips this one.

        ``settled``: whether every batch processed is settled already. The caller waits for
        the unsettled ones before a capture, and the stream with it: a batch whose windows
        closed waits for their partials, hundreds of milliseconds. So a capture waits for a
        settled moment, and after ``SETTLED_WAIT_SECONDS`` (a saturated stream may have
        none) it is due anyway."""
        interval = self.settings.state_snapshot_interval_seconds
        now = time.monotonic()
        if (
            interval <= 0
            or not self.settings.state_snapshots
            or (self._writing is not None and not self._writing.done())
        ):
            return False
        if now < (self._next_in_round if self._round else self._last + interval):
            return False
        if not settled:
            if self._unsettled_since is None:
                self._unsettled_since = now
            if now - self._unsettled_since < SETTLED_WAIT_SECONDS:
                return False
        self._unsettled_since = None
        if not self._round:
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
        """Capture the next state of the round (a new round: the states that logged a group
        since their last snapshot) and write it in the background."""
        if not self._round:
            self._round = [p for p, state in sorted(states.items()) if self._logged_since(state)]
        while self._round:
            state = states.get(self._round.pop(0))
            if state is not None and self._logged_since(state):
                self._capture(state, ends)
                return

    def _capture(self, state: PartitionState, ends: Mapping[int, int]) -> None:
        started = time.monotonic()
        self._next_in_round = started + self.round_gap_seconds
        pending = capture_snapshots(self.place, [state], ends)
        if not pending:
            return
        latest = state.latest
        assert latest is not None  # _logged_since
        self._marks[state.partition] = latest.group_id
        log.info(
            "captured the state snapshot of partition %d in %.0f ms; writing it",
            state.partition,
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
        if partition in self._round:
            self._round.remove(partition)

    def _logged_since(self, state: PartitionState) -> bool:
        latest = state.latest
        return latest is not None and self._marks.get(state.partition) != latest.group_id
