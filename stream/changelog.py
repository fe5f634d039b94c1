"""The stream's state changelog: one group of records per partition and processed batch.

A group lists what the batch added to the partition's state (accepted events with their
predictions, accepted labels) and where the batch left it (next source offsets, watermarks,
last closed window). It is written only after the batch's outputs are delivered and before the
offsets are committed, so replaying the groups in order rebuilds the join and the open window
summaries exactly, and the next source offsets say where to resume (docs/architecture.md,
"State and recovery").

A group may be split in chunks to stay under the broker's message size; a group whose last
chunk never arrived (a crash mid-write) is ignored on restore.

The topic is compacted, not retained by wall-clock time: each chunk has a key of its own
(``<group id>/<chunk>``), and once nothing of a group can matter any more (its windows are
closed and all it held has left the join, :func:`stream.state.retire_groups`) a later batch
writes a tombstone for each of its keys. An outage of any length loses nothing, and the log
holds what the state holds, not what passed through it.

A chunk is one line of JSON (ids, times, predictions, offsets; orjson never writes a newline)
and then the bytes of its events (as the join keeps them: packed, see :mod:`stream.packed`, or
their JSON) and of its labels (as they came), back to back, their lengths in the JSON. The
challenger's version and class of each event (``cv``, ``cp``) are there only in a chunk with
events scored in the shadow, so a chunk written before, or without a challenger, restores as
events without one.
Carried as JSON strings, every quote of every event would be escaped: the chunks were 8%
larger and took four times as long to write (docs/benchmarks.md, "Stream").

>>> group = ChangelogGroup(partition=0, next_feature_offset=3, next_label_offset=None,
...     events=[EventEntry("e-1", 1.0, "1", 0, (0.9, 0.1), b'{"x": 1}')], labels=[],
...     closed_through=None, feature_watermark=1.0, label_watermark=None)
>>> chunks = encode_group(group, group_id="g1")
>>> chunk_keys("g1", len(chunks))
[b'g1/0']
>>> [restored] = list(read_groups([*chunks, None]))  # None: a tombstone, skipped
>>> restored == group, restored.group_id, restored.chunks
(True, 'g1', 1)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from stream.join import Scored

CHUNK_BYTES = 700_000  # under the broker's default 1 MB message limit, with room for overhead


EventEntry = Scored  # an accepted, scored event: what the join keeps is what the log records


@dataclass(frozen=True, slots=True)
class LabelEntry:
    event_id: str
    label: int | str
    label_ts: float
    label_time: str
    raw: bytes


@dataclass(frozen=True)
class ChangelogGroup:
    partition: int
    next_feature_offset: int | None
    next_label_offset: int | None
    events: list[EventEntry] = field(default_factory=list)
    labels: list[LabelEntry] = field(default_factory=list)
    closed_through: int | None = None
    feature_watermark: float | None = None
    label_watermark: float | None = None
    expired_through: float | None = None
    # Who the group is, and the keys of dead groups this batch retires; not state, so they
    # take no part in comparing two groups.
    group_id: str = field(default="", compare=False)
    chunks: int = field(default=1, compare=False)
    retired: tuple[bytes, ...] = field(default=(), compare=False)


def new_group_id() -> str:
    return uuid.uuid4().hex[:12]


def chunk_keys(group_id: str, chunks: int) -> list[bytes]:
    """The Kafka keys of a group's chunks: one per chunk, so compaction keeps them all."""
    return [f"{group_id}/{index}".encode() for index in range(chunks)]


def chunk_count(group: ChangelogGroup) -> int:
    """How many chunks :func:`encode_group` makes of ``group`` (without encoding it)."""
    return len(_slices(group))


def encode_group(group: ChangelogGroup, *, group_id: str | None = None) -> list[bytes]:
    """The group as one or more JSON chunks, each under :data:`CHUNK_BYTES` (its own group id,
    else ``group_id``, else a fresh one)."""
    group_id = group.group_id or group_id or new_group_id()
    slices = _slices(group)
    head = {
        "g": group_id,
        "n": len(slices),
        "p": group.partition,
        "fo": group.next_feature_offset,
        "lo": group.next_label_offset,
        "ct": group.closed_through,
        "fw": group.feature_watermark,
        "lw": group.label_watermark,
        "xw": group.expired_through,
    }
    chunks = []
    for index, (events, labels) in enumerate(slices):
        columns = {
            # Columns, not one list per event: cheaper to build and to parse.
            "id": [e.event_id for e in events],
            "ts": [e.event_ts for e in events],
            "v": [e.version for e in events],
            "p": [e.predicted for e in events],
            "pr": [e.probabilities for e in events],
            "rl": [len(e.record) for e in events],
        }
        challenger = [e.challenger_version for e in events]
        if challenger.count(None) != len(challenger):  # only while a challenger scores
            columns["cv"] = challenger
            columns["cp"] = [e.challenger_predicted for e in events]
        body = {
            **head,
            "i": index,
            "ev": columns,
            "lb": [[b.event_id, b.label, b.label_ts, b.label_time, len(b.raw)] for b in labels],
        }
        raws = [e.record for e in events] + [b.raw for b in labels]
        chunks.append(b"".join([orjson.dumps(body), b"\n", *raws]))
    return chunks


def _slices(group: ChangelogGroup) -> list[tuple[list[EventEntry], list[LabelEntry]]]:
    slices: list[tuple[list[EventEntry], list[LabelEntry]]] = [([], [])]
    size = 0
    for event in group.events:
        cost = len(event.record) + 120
        if size + cost > CHUNK_BYTES and (slices[-1][0] or slices[-1][1]):
            slices.append(([], []))
            size = 0
        slices[-1][0].append(event)
        size += cost
    for label in group.labels:
        cost = len(label.raw) + 120
        if size + cost > CHUNK_BYTES and (slices[-1][0] or slices[-1][1]):
            slices.append(([], []))
            size = 0
        slices[-1][1].append(label)
        size += cost
    return slices


def read_groups(chunks: Iterable[bytes | None]) -> Iterator[ChangelogGroup]:
    """Complete groups in log order; an incomplete group and tombstones (None) are skipped."""
    reader = GroupReader()
    for chunk in chunks:
        group = reader.feed(chunk)
        if group is not None:
            yield group


class GroupReader:
    """Reassembles groups from chunks read in log order, one record at a time (a restore
    applies each group as it completes, so it never holds the whole log)."""

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []

    def feed(self, chunk: bytes | None) -> ChangelogGroup | None:
        """The group this chunk completes, if any."""
        if chunk is None:
            return None  # a tombstone: the group it retired is dead
        data = _chunk(chunk)
        pending = self._pending
        if pending and data["g"] != pending[0]["g"]:
            pending.clear()  # the writer died mid-group; that batch was never committed
        if data["i"] != len(pending):
            pending.clear()  # the start of this group was compacted away or never written
            if data["i"] != 0:
                return None
        pending.append(data)
        if len(pending) < data["n"]:
            return None
        group = _group(pending)
        self._pending = []
        return group


def _challenger_columns(events: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The challenger's version and class per event; None for each in a chunk written without
    a challenger (or before the challenger was joined)."""
    if "cv" in events:
        return events["cv"], events["cp"]
    nothing = [None] * len(events["id"])
    return nothing, nothing


def _chunk(chunk: bytes) -> dict[str, Any]:
    """A chunk's JSON with its events' and labels' bytes put back in (``ev.raw``, ``lb[i][4]``).

    Chunks written before the raw bytes moved out of the JSON have no newline and carry them
    as strings."""
    head, newline, raws = chunk.partition(b"\n")
    data: dict[str, Any] = orjson.loads(head)
    if not newline:
        data["ev"]["raw"] = [raw.encode() for raw in data["ev"]["raw"]]
        for label in data["lb"]:
            label[4] = label[4].encode()
        return data
    view, at = memoryview(raws), 0
    events = []
    for length in data["ev"].pop("rl"):
        events.append(view[at : at + length].tobytes())
        at += length
    data["ev"]["raw"] = events
    for label in data["lb"]:
        label[4], at = view[at : at + label[4]].tobytes(), at + label[4]
    return data


def _group(chunks: list[dict[str, Any]]) -> ChangelogGroup:
    head = chunks[-1]
    events = [
        EventEntry(i, t, v, p, None if pr is None else tuple(pr), raw, cv, cp)
        for chunk in chunks
        for i, t, v, p, pr, raw, cv, cp in zip(
            chunk["ev"]["id"],
            chunk["ev"]["ts"],
            chunk["ev"]["v"],
            chunk["ev"]["p"],
            chunk["ev"]["pr"],
            chunk["ev"]["raw"],
            *_challenger_columns(chunk["ev"]),
            strict=True,
        )
    ]
    labels = [LabelEntry(b[0], b[1], b[2], b[3], b[4]) for chunk in chunks for b in chunk["lb"]]
    return ChangelogGroup(
        partition=head["p"],
        next_feature_offset=head["fo"],
        next_label_offset=head["lo"],
        events=events,
        labels=labels,
        closed_through=head["ct"],
        feature_watermark=head["fw"],
        label_watermark=head["lw"],
        expired_through=head.get("xw"),
        group_id=head["g"],
        chunks=head["n"],
    )
