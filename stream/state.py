"""The state of one partition and the two ways it changes: live batches and changelog replay.

Both go through :func:`apply_events` and :func:`apply_labels`, so a partition rebuilt from its
changelog after a crash holds exactly what the crashed worker held (the join, the open window
summaries, the watermarks), and the restarted worker produces the same windows.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from centinela.contract.settings import Settings
from centinela.models.profile import ReferenceProfile
from stream.changelog import ChangelogGroup, EventEntry, LabelEntry
from stream.group_ledger import GroupLedger
from stream.join import Joined, JoinState, LabelRejected
from stream.packed import Layout, event_fields
from stream.partition_windows import PartitionWindows
from stream.scoring import FeatureArrays, arrays_from_dicts
from stream.spill import SpillStore
from stream.validation import Rejected, ValidLabel

SummaryFactory = Callable[[str, int, float, float], Any]


@dataclass(frozen=True, slots=True)
class LoggedGroup:
    """A changelog group the partition's state may still need, and what retires it: the
    newest moment it touched (its events, its labels and the partners they joined) and the
    newest window it counted in."""

    group_id: str
    chunks: int
    newest_ts: float  # -inf for a group of offsets and watermarks alone
    newest_window: int | None


def retention_horizon(settings: Settings) -> float:
    """Event-time seconds after which nothing of a group can be in the state: an id stays in
    the join up to twice the TTL (waiting, then remembered as expired), plus the expiry
    buckets' width (TTL / 64, twice), plus a window and its lateness for the windows it fed."""
    ttl = settings.join_ttl_seconds
    return 2 * ttl * (1 + 1 / 32) + settings.window_seconds + settings.allowed_lateness_seconds


@dataclass
class PartitionState:
    """Everything one partition of features+labels holds between batches."""

    partition: int
    join: JoinState
    windows: PartitionWindows[Any]
    horizon: float = math.inf  # see retention_horizon
    next_feature_offset: int | None = None
    next_label_offset: int | None = None
    expired_through: float | None = None  # the watermark the join last expired at
    last_feature_at: float = field(default_factory=time.monotonic)
    # Logged groups but the latest, by their newest moment (a backlog does not log in time
    # order: a batch of labels may precede the events they wait for).
    logged: GroupLedger = field(init=False)  # made from the horizon, below
    latest: LoggedGroup | None = None  # carries the resume offsets: never retired
    logged_count: int = 0
    to_retire: list[bytes] = field(default_factory=list)  # tombstones the next group carries

    def __post_init__(self) -> None:
        self.logged = GroupLedger(self.horizon)

    @classmethod
    def fresh(
        cls,
        partition: int,
        settings: Settings,
        make_summary: SummaryFactory,
        *,
        memory_entries: int | None = None,
    ) -> PartitionState:
        """An empty state; its join keeps ``memory_entries`` entries in memory (default: the
        whole ``join_memory_entries``; a worker shares it among its partitions)."""
        windows: PartitionWindows[Any] = PartitionWindows(
            window_seconds=settings.window_seconds,
            lateness_seconds=settings.allowed_lateness_seconds,
            make_summary=make_summary,
        )
        join = JoinState(
            settings.join_ttl_seconds,
            memory_entries=memory_entries or settings.join_memory_entries,
            spill=lambda: SpillStore(spill_folder(settings, partition)),
        )
        return cls(partition, join, windows, horizon=retention_horizon(settings))


def spill_folder(settings: Settings, partition: int) -> Path:
    """A folder per process and partition: two workers on one machine never share one, and a
    partition that comes back to this worker starts a fresh one (its restore refills it)."""
    return settings.home / "stream-state" / f"{os.getpid()}-p{partition}-{uuid.uuid4().hex[:8]}"


@dataclass
class Applied:
    """What applying events or labels produced, for the live path to publish."""

    joined: list[Joined] = field(default_factory=list)
    label_rejections: list[LabelRejected] = field(default_factory=list)
    late_events: int = 0
    late_outcomes: int = 0


def apply_events(
    state: PartitionState,
    entries: Sequence[EventEntry],
    features: FeatureArrays,
    *,
    checked: bool = False,
) -> Applied:
    """Add scored events (rows of ``features``, same order) to the join and their windows.
    ``checked``: the caller dropped every id the join knows (the live path does, before
    scoring), so the join does not look them up again."""
    applied = Applied()
    add = state.join.add_event
    for entry in entries:
        result = add(entry, checked=checked)
        if result is None:
            continue
        if isinstance(result, Joined):
            applied.joined.append(result)
        elif isinstance(result, LabelRejected):
            applied.label_rejections.append(result)
        # A Rejected (duplicate) cannot happen: callers drop duplicates before scoring.
    if entries:
        _window_events(state, entries, features, applied)
    applied.late_outcomes += add_outcomes(state, applied.joined)
    return applied


def _window_events(
    state: PartitionState, entries: Sequence[EventEntry], features: FeatureArrays, applied: Applied
) -> None:
    """Window ids for the whole batch at once; one add per (version, window)."""
    windows = state.windows
    stamps = np.fromiter((e.event_ts for e in entries), dtype=np.float64, count=len(entries))
    window_ids = np.floor(stamps / windows.window_seconds).astype(np.int64)
    first_version = entries[0].version
    if all(e.version == first_version for e in entries):  # one batch, one champion: the rule
        keys = window_ids
    else:
        pairs = zip(entries, window_ids.tolist(), strict=True)
        keys = np.asarray([f"{e.version}\x00{w}" for e, w in pairs])
    for key in np.unique(keys).tolist():
        rows = np.flatnonzero(keys == key)
        first = entries[int(rows[0])]
        window_id = int(window_ids[rows[0]])
        if not windows.is_open(window_id):
            applied.late_events += len(rows)
            count_late(state, first.version, events=len(rows))
            continue
        part = features if len(rows) == len(entries) else features.take(rows)
        chosen = [entries[r] for r in rows.tolist()]
        windows.summary(first.version, window_id).add_events(
            [entry.event_id for entry in chosen],
            part,
            [entry.predicted for entry in chosen],
            _probabilities(chosen),
        )
    windows.observe_features(float(stamps.max()))


def _probabilities(entries: Sequence[EventEntry]) -> np.ndarray | None:
    """The entries' class probabilities as one matrix, or None when any lacks them."""
    try:
        matrix = np.asarray([entry.probabilities for entry in entries], dtype=np.float64)
    except (TypeError, ValueError):  # some rows are None
        return None
    return matrix if matrix.ndim == 2 else None  # all None: a vector of NaN


def apply_labels(
    state: PartitionState, labels: Sequence[ValidLabel]
) -> tuple[Applied, list[tuple[ValidLabel, Rejected | None]]]:
    """Offer labels to the join. Returns outcomes plus, per label, its rejection (or None)."""
    applied = Applied()
    verdicts: list[tuple[ValidLabel, Rejected | None]] = []
    for label in labels:
        result = state.join.add_label(label)
        if isinstance(result, Rejected):
            verdicts.append((label, result))
            continue
        verdicts.append((label, None))
        if isinstance(result, Joined):
            applied.joined.append(result)
    if labels:
        state.windows.observe_labels(max(label.label_ts for label in labels))
    applied.late_outcomes += add_outcomes(state, applied.joined)
    return applied, verdicts


def add_outcomes(state: PartitionState, joined: Sequence[Joined]) -> int:
    """Count labeled outcomes in the window of their label time; returns how many came late.

    The label time, not the event time, picks the window: labels come after their events, often
    after the event's window has closed, and concept drift is about labels as they arrive.
    """
    windows = state.windows
    groups: dict[tuple[str, int], list[Joined]] = defaultdict(list)
    late = 0
    # windows.window_of and windows.is_open, inlined: a call each per label is measurable, and
    # nothing in the loop closes a window.
    width, closed, floor = windows.window_seconds, windows.closed_through, math.floor
    for item in joined:
        event = item.event
        window_id = floor(max(item.label.label_ts, event.event_ts) / width)
        if closed is None or window_id > closed:
            groups[(event.version, window_id)].append(item)
        else:
            late += 1
            count_late(state, item.event.version, outcomes=1)
    for (version, window_id), items in groups.items():
        rows = [item.event.probabilities for item in items]
        probabilities = None if any(row is None for row in rows) else np.asarray(rows, dtype=float)
        # The challenger's outcomes too, where it scored the event in the shadow.
        challengers = [item.event.challenger_version for item in items]
        shadowed = challengers.count(None) != len(challengers)
        windows.summary(version, window_id).add_outcomes(
            [item.event_id for item in items],
            [item.event.predicted for item in items],
            [item.label.label for item in items],
            probabilities,
            [max(item.label.label_ts - item.event.event_ts, 0.0) for item in items],
            challenger_versions=challengers if shadowed else None,
            challenger_predicted=[item.event.challenger_predicted for item in items]
            if shadowed
            else None,
        )
    return late


def count_late(state: PartitionState, version: str, *, events: int = 0, outcomes: int = 0) -> None:
    """Count arrivals for a closed window in the newest open one of their version, whose report
    then says how many came too late (never silently dropped)."""
    windows = state.windows
    closed = windows.closed_through
    newest = windows.newest_window()
    if closed is not None and (newest is None or newest <= closed):
        newest = closed + 1  # everything seen is closed (an idle close): the next window
    if newest is not None:  # always, once a window has closed: lateness needs one
        windows.summary(version, newest).add_late(events, outcomes)


def finish_batch(state: PartitionState, watermark: float | None) -> list[LabelRejected]:
    """Expire join state past the TTL, by the partition's event-time watermark."""
    if watermark is None:
        return []
    state.expired_through = watermark
    return state.join.expire(watermark)


def remember_group(
    state: PartitionState,
    group_id: str,
    chunks: int,
    entries: Sequence[EventEntry],
    labels: Sequence[ValidLabel] | Sequence[LabelEntry],
    joined: Iterable[Joined],
) -> None:
    """Track a group just logged (or replayed), then queue the groups it made dead."""
    moments = [e.event_ts for e in entries] + [b.label_ts for b in labels]
    for item in joined:  # a join counts in the window of the later of the two times
        moments += (item.event.event_ts, item.label.label_ts)
    newest = max(moments, default=-math.inf)
    window = None if newest == -math.inf else state.windows.window_of(newest)
    if state.latest is not None:
        state.logged_count += 1
        older = state.latest
        state.logged.add(older.group_id, older.chunks, older.newest_ts, older.newest_window)
    state.latest = LoggedGroup(group_id, chunks, newest, window)
    retire_groups(state)


def retire_groups(state: PartitionState) -> None:
    """Queue tombstones for the groups that can no longer change what a replay builds.

    A group is dead once every window it counted in is closed and the join's watermark is a
    whole horizon past its newest moment: its events, labels and remembered ids have all left
    the join. Both only grow with the newest moment, so groups die in the order of their
    newest moments (:mod:`stream.group_ledger`, by bucket). The latest group always stays: it
    carries the resume offsets.
    """
    closed, expired = state.windows.closed_through, state.expired_through
    state.to_retire += state.logged.retire(closed=closed, expired=expired)


def restore(
    state: PartitionState, group: ChangelogGroup, profile_of: Callable[[str], ReferenceProfile]
) -> None:
    """Replay one changelog group onto ``state`` exactly as the live batch applied it."""
    joined: list[Joined] = []
    if group.events:
        profile = profile_of(group.events[0].version)
        layout = Layout.of(profile)
        features = [event_fields(entry.record, layout)[1] for entry in group.events]
        joined += apply_events(state, group.events, arrays_from_dicts(features, profile)).joined
    if group.labels:
        labels = [
            ValidLabel(b.event_id, b.label, b.label_ts, b.label_time, b.raw) for b in group.labels
        ]
        joined += apply_labels(state, labels)[0].joined
    if group.feature_watermark is not None:
        state.windows.observe_features(group.feature_watermark)
    if group.label_watermark is not None:
        state.windows.observe_labels(group.label_watermark)
    finish_batch(state, group.expired_through)
    if group.closed_through is not None:
        state.windows.close_through(group.closed_through)
    if group.next_feature_offset is not None:
        state.next_feature_offset = group.next_feature_offset
    if group.next_label_offset is not None:
        state.next_label_offset = group.next_label_offset
    remember_group(state, group.group_id, group.chunks, group.events, group.labels, joined)


def label_entries(labels: Sequence[ValidLabel]) -> list[LabelEntry]:
    return [LabelEntry(b.event_id, b.label, b.label_ts, b.label_time, b.raw) for b in labels]
