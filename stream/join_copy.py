"""A copy of a partition's label join for a snapshot, taken while the join goes on.

Taking it is quick, so that the stream waits only for that: the disk tier becomes a RocksDB
checkpoint (hard links to its table files) and the dictionaries and expiry buckets in memory
are copied at C speed (the entries themselves are shared: the join never changes an entry once
made; it replaces or removes it). Writing it, the
slow part, runs afterwards in any thread: the memory entries are encoded and added to the
checkpoint, which is then a spill store holding the whole join (:mod:`stream.spill`), as the
next owner of the partition opens it.

>>> import tempfile, pathlib
>>> from stream.join import EVENT, JoinState, Scored
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> join = JoinState(60, spill=lambda: SpillStore(folder / "live"))
>>> join.add_event(Scored("e-1", 0.0, "1", 1, None, b"{}")) is None
True
>>> copy = copy_join(join, folder / "copy")
>>> _ = copy.write()
>>> SpillStore(copy.path, entries=copy.entries).get(EVENT, "e-1") is not None
True
>>> join.pending_events  # the live join goes on as it was
1
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stream.join import EVENT, EXPIRED, JoinState, MemoryTier, encode_event_entry, encode_label
from stream.spill import SpillStore


def _encoder(kind: bytes) -> Callable[[Any], bytes]:
    """How the spill store keeps an entry of ``kind`` (as the join itself spills it)."""
    if kind == EVENT:
        return encode_event_entry
    if kind == EXPIRED:
        return lambda _: b""
    return encode_label


@dataclass(frozen=True, eq=False)
class JoinCopy:
    """A join as it was when copied: ``on_disk`` entries in a checkpoint at ``path`` (None:
    there was no disk tier, and nothing is at ``path`` yet) and the ``memory`` entries."""

    path: Path
    on_disk: int | None
    memory: list[MemoryTier]

    @property
    def entries(self) -> int:
        return (self.on_disk or 0) + sum(len(entries) for _, entries, _ in self.memory)

    def write(self) -> SpillStore:
        """Add the memory entries to the checkpoint (made if there was none), bucket by
        bucket as the join spills them, and close it; returns the closed store at ``path``,
        which holds :attr:`entries`."""
        if self.on_disk is None:
            store = SpillStore(self.path)
        else:
            store = SpillStore(self.path, entries=self.on_disk)
        for kind, entries, buckets in self.memory:
            encode = _encoder(kind)
            for bucket, ids in buckets.items():
                items = ((key, encode(entries[key])) for key in ids if key in entries)
                store.put_bucket(kind, bucket, items)
        store.close()
        return store


def copy_join(join: JoinState, path: Path) -> JoinCopy:
    """Copy ``join`` as it is now; only :meth:`JoinCopy.write` writes the memory entries."""
    on_disk = join.checkpoint_disk(path)
    return JoinCopy(path, on_disk, join.memory_tiers())
