"""The label join's overflow on disk: RocksDB through ``rocksdict``.

The join keeps its newest entries in memory, up to ``CENTINELA_JOIN_MEMORY_ENTRIES``; past
that it moves its oldest entries here, under their expiry buckets
(:class:`stream.join.JoinState`), so the worker's RAM does not grow with the join TTL or the
event rate. Three kinds of entry share one
database, each under a one-byte prefix: ``e`` a scored event (its encoded form, or empty once
joined), ``x`` the id of an event that expired unlabeled, ``o`` a label waiting for its event.
Beside each entry, an index key ``B<kind><bucket><id>`` keeps it in its expiry bucket, so
expiring is a range scan in bucket order.

RocksDB's own memory (block cache, index and filter blocks, memtables) is one budget for all
the partitions of the process, :data:`SHARED_CACHE_BYTES`, whatever the data on disk.

The database is a cache of the state, not its record: the changelog is. It lives in a folder
of its own per partition and process, is created on the first spill, and is deleted when the
partition leaves the worker; a restore rebuilds it. A partition that leaves cleanly keeps it
in its snapshot instead (:mod:`stream.snapshot`), closed, and the next owner reopens it.

>>> import tempfile, pathlib
>>> store = SpillStore(pathlib.Path(tempfile.mkdtemp()) / "p0")
>>> store.put_bucket(b"e", 7, [("a", b"1"), ("b", b"")])
>>> store.get(b"e", "a"), store.get(b"e", "b"), store.get(b"e", "c")
(b'1', b'', None)
>>> store.pop_buckets_before(b"e", 8)
[('a', b'1'), ('b', b'')]
>>> store.get(b"e", "a") is None
True
>>> store.destroy()
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

from rocksdict import (
    BlockBasedIndexType,
    BlockBasedOptions,
    Cache,
    Checkpoint,
    Options,
    Rdict,
    WriteBatch,
    WriteBufferManager,
)

_BUCKET = struct.Struct(">Q")
_SIGN = 2**63  # buckets may be negative; big-endian unsigned keeps them in numeric order


def _bucket_key(kind: bytes, bucket: int) -> bytes:
    return b"B" + kind + _BUCKET.pack(bucket + _SIGN)


# RocksDB's memory for the joins of every partition of the process together: one block cache
# that also holds the index and filter blocks (unbounded beside the cache otherwise: they grow
# with the data) and is charged for the memtables. The OS page cache holds the rest. 48 MB
# (8 per partition was the first guess) was still filling after 1,000,000 events at the memory
# benchmark; the filters of ~2,000,000 spilled ids take ~5 MB.
SHARED_CACHE_BYTES = 16 * 1024 * 1024
MEMTABLE_BYTES = 8 * 1024 * 1024  # of the above, at most this in memtables
# What an expiry call removes at most (:meth:`pop_buckets_before`): a chunk of index keys, and as
# many as were written since the last call, up to a bound: a worker that takes over partitions
# cuts each partition's share of memory and spills the excess at once.
EXPIRY_CHUNK = 4096
EXPIRY_CATCH_UP = 15 * EXPIRY_CHUNK
_shared: tuple[Cache, WriteBufferManager] | None = None


def _memory() -> tuple[Cache, WriteBufferManager]:
    """The process's one cache and memtable budget, made on the first spill."""
    global _shared
    if _shared is None:
        cache = Cache(SHARED_CACHE_BYTES)
        _shared = (
            cache,
            WriteBufferManager.new_write_buffer_manager_with_cache(MEMTABLE_BYTES, False, cache),
        )
    return _shared


def rocksdb_memory(stores: Iterable[SpillStore]) -> dict[str, int] | None:
    """RocksDB's memory in this process, in bytes, for ``/status``: the shared block cache (its
    index and filter blocks, and the memtables charged to it) and, summed over ``stores``,
    their memtables and table readers. None before the first spill made the cache."""
    if _shared is None:
        return None
    cache = _shared[0]
    memory = {
        "block_cache": cache.get_usage(),
        "block_cache_pinned": cache.get_pinned_usage(),
        "memtables": 0,
        "table_readers": 0,
    }
    for store in stores:
        memory["memtables"] += store.property_bytes("rocksdb.size-all-mem-tables")
        memory["table_readers"] += store.property_bytes("rocksdb.estimate-table-readers-mem")
    return memory


def _options() -> Options:
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    cache, memtables = _memory()
    options.set_write_buffer_manager(memtables)
    options.set_write_buffer_size(8 * 1024 * 1024)
    options.set_max_write_buffer_number(2)
    table = BlockBasedOptions()
    table.set_block_cache(cache)
    # Partitioned index and filters, cached (and evicted) like data blocks; only their top
    # level stays pinned. The bloom filter answers "not here" for a new event id (the
    # duplicate check, once per event) without reading a block.
    table.set_bloom_filter(10, False)
    table.set_index_type(BlockBasedIndexType.two_level_index_search())
    table.set_partition_filters(True)
    table.set_cache_index_and_filter_blocks(True)
    table.set_pin_top_level_index_and_filter(True)
    table.set_pin_l0_filter_and_index_blocks_in_cache(True)
    options.set_block_based_table_factory(table)
    return options


class SpillStore:
    """Entries of one partition's join that memory could not hold, by kind and bucket."""

    def __init__(self, path: Path, *, entries: int | None = None) -> None:
        """A new, empty store at ``path``; with ``entries``, the closed store already there
        (a snapshot's), which holds that many."""
        self.path = path
        if entries is None:
            shutil.rmtree(path, ignore_errors=True)  # a crashed process's leftovers: stale
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.is_dir():
            raise FileNotFoundError(f"no spill store at {path}")
        self._db = Rdict(str(path), _options())
        # Entries written and not yet popped or taken (approximate: for /status).
        self.entries = entries or 0
        # Per kind, an index key below which none is left (unknown for a reopened store).
        # An expiry scan starts there: from the first bucket it would walk the tombstones of
        # everything expired before, which RocksDB keeps until it compacts them: ~110 ms per
        # empty scan once a TTL's entries had expired (docs/benchmarks.md, "Expiry").
        self._floor: dict[bytes, bytes] = {}
        self._written: dict[bytes, int] = {}  # per kind, index keys put since its last expiry

    def put_bucket(self, kind: bytes, bucket: int, items: Iterable[tuple[str, bytes]]) -> None:
        """Store ``items`` (id, value) of one expiry bucket, in one write."""
        batch = WriteBatch(raw_mode=True)
        prefix = _bucket_key(kind, bucket)
        if kind in self._floor:
            self._floor[kind] = min(self._floor[kind], prefix)
        count = 0
        for key, value in items:
            raw = key.encode()
            batch.put(kind + raw, value)
            batch.put(prefix + raw, b"")
            count += 1
        self._db.write(batch)
        self.entries += count
        self._written[kind] = self._written.get(kind, 0) + count

    def get(self, kind: bytes, key: str) -> bytes | None:
        value = self._db.get(kind + key.encode())
        return None if value is None else bytes(value)

    def has(self, kind: bytes, key: str) -> bool:
        return self._db.get(kind + key.encode()) is not None

    def replace(self, kind: bytes, key: str, value: bytes) -> None:
        """A new value for an entry already here (its bucket stays)."""
        self._db.put(kind + key.encode(), value)

    def take(self, kind: bytes, key: str) -> bytes | None:
        """Remove and return an entry (its index key goes when its bucket expires)."""
        raw = kind + key.encode()
        value = self._db.get(raw)
        if value is None:
            return None
        self._db.delete(raw)
        self.entries -= 1
        return bytes(value)

    def pop_buckets_before(self, kind: bytes, bucket: int) -> list[tuple[str, bytes]]:
        """Remove the oldest entries of ``kind`` in buckets below ``bucket``; return those
        still present (taken ones have left already), in bucket order. At most
        :data:`EXPIRY_CHUNK` index keys more than were put since the last call (up to
        :data:`EXPIRY_CATCH_UP` of those): the next call goes on where this one stopped.

        A bucket at the defaults holds ~130,000 of a partition's entries at 9,000 events/s:
        removed in one go, it built lists and a write batch of ~40 MB that raised the worker's
        floor, and held the stream for ~0.7 s (docs/benchmarks.md, "Expiry"). Every batch
        calls, and each call removes a chunk more than came since the last one, so what is left
        behind shrinks, for any batch below 61,440 entries per partition."""
        most = EXPIRY_CHUNK + min(self._written.pop(kind, 0), EXPIRY_CATCH_UP)
        end = _bucket_key(kind, bucket)
        start = self._floor.get(kind, _bucket_key(kind, -_SIGN))
        if start >= end:
            return []
        index = self._index_keys(start, end, most)
        # Past the last key and its tombstone; ``end`` once the scan reached it.
        self._floor[kind] = end if len(index) < most else index[-1] + b"\x00"
        return self._remove_indexed(kind, index, len(end)) if index else []

    def _index_keys(self, start: bytes, end: bytes, most: int) -> list[bytes]:
        index: list[bytes] = []
        iterator = self._db.iter()
        iterator.seek(start)
        while iterator.valid() and len(index) < most:
            key = bytes(iterator.key())
            if key >= end:
                break
            index.append(key)
            iterator.next()
        return index

    def _remove_indexed(
        self, kind: bytes, index: list[bytes], prefix_length: int
    ) -> list[tuple[str, bytes]]:
        """Delete the index keys and their entries; the entries that were still there."""
        ids = [key[prefix_length:] for key in index]
        values = cast(list[bytes | None], self._db.get([kind + raw for raw in ids]))
        batch = WriteBatch(raw_mode=True)
        found = []
        for key, raw, value in zip(index, ids, values, strict=True):
            batch.delete(key)
            if value is not None:
                batch.delete(kind + raw)
                found.append((raw.decode(), bytes(value)))
        self._db.write(batch)
        self.entries -= len(found)
        return found

    def items(self, kind: bytes) -> Iterator[tuple[str, bytes]]:
        """Every entry of ``kind``, by id."""
        iterator = self._db.iter()
        iterator.seek(kind)
        while iterator.valid():
            key = bytes(iterator.key())
            if not key.startswith(kind):
                break
            yield key[1:].decode(), bytes(iterator.value())
            iterator.next()

    def property_bytes(self, name: str) -> int:
        """One of RocksDB's integer properties (``rocksdb.size-all-mem-tables``, ...)."""
        return int(self._db.property_int_value(name) or 0)

    def checkpoint(self, path: Path) -> None:
        """A consistent copy of the database at ``path`` (a folder not yet there), while it
        stays open: its table files are hard links, not copies, and its memtables are written
        out first, so this is quick whatever the store holds. The copy opens as a store of
        its own (``SpillStore(path, entries=...)``)."""
        Checkpoint(self._db).create_checkpoint(str(path))

    def close(self) -> None:
        """Close the database and keep its folder (for a snapshot to carry); its memtables go
        to table files first, so the snapshot does not rest on an unsynced write-ahead log."""
        self._db.flush(True)
        self._db.close()

    def destroy(self) -> None:
        """Close the database and delete its folder."""
        self._db.close()
        shutil.rmtree(self.path, ignore_errors=True)
