"""The columnar tables a window summary is made of: rows keyed by a 64-bit event-id hash.

A table's union keeps one row per id (so a redelivered event, or one counted by two workers,
counts once), ``bottom`` keeps the rows with the smallest ids (a deterministic subsample that
merging cannot change), and ``pack``/``unpack`` write a table as base64 JSON or as raw bytes
after it (read back as views, without a copy).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from centinela.drift.exceptions import DriftError

Shape = tuple[np.dtype[Any], tuple[int, ...]]


@dataclass(frozen=True)
class Table:
    """Rows keyed by id hash; ``columns`` share the first axis with ``ids``."""

    ids: np.ndarray
    columns: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return int(self.ids.size)


def union(tables: Sequence[Table], width: Sequence[Shape]) -> Table:
    """Rows of all tables, one per id (the first seen), ordered by id."""
    live = [t for t in tables if len(t)]
    if not live:
        return Table(
            np.empty(0, dtype=np.uint64),
            tuple(np.empty((0, *shape), dtype=dtype) for dtype, shape in width),
        )
    ids = np.concatenate([t.ids for t in live])
    unique, first = np.unique(ids, return_index=True)
    columns = tuple(np.concatenate([t.columns[k] for t in live])[first] for k in range(len(width)))
    return Table(unique, columns)


def bottom(table: Table, cap: int) -> Table:
    """The ``cap`` rows with the smallest ids: a deterministic, merge-stable subsample."""
    if len(table) <= cap:
        return table
    order = np.sort(np.argpartition(table.ids, cap - 1)[:cap])
    return Table(table.ids[order], tuple(c[order] for c in table.columns))


class Rows:
    """A table being filled: appended chunks, folded into one canonical table (one row per id,
    ordered by id, at most ``cap`` rows with the smallest ids) when read."""

    def __init__(self, shape: Sequence[Shape], cap: int | None = None) -> None:
        self.shape = list(shape)
        self.cap = cap
        self._canonical: Table | None = None
        self._pending: list[Table] = []
        self._pending_rows = 0

    def append(self, table: Table) -> None:
        self._pending.append(table)
        self._pending_rows += len(table)
        if self.cap is not None and self._pending_rows > 2 * self.cap:
            self.table()  # keeps memory bounded: rows beyond the cap can never come back

    def replace(self, table: Table) -> None:
        self._canonical, self._pending, self._pending_rows = table, [], 0

    def table(self) -> Table:
        if self._canonical is None or self._pending:
            parts = ([self._canonical] if self._canonical is not None else []) + self._pending
            folded = union(parts, self.shape)
            self.replace(folded if self.cap is None else bottom(folded, self.cap))
        assert self._canonical is not None
        return self._canonical


def pack(table: Table, binary: bool) -> dict[str, Any]:
    arrays = [table.ids.astype("<u8", copy=False)]
    arrays += [c.astype(c.dtype.newbyteorder("<"), copy=False) for c in table.columns]
    encode = _bytes_of if binary else _b64
    return {"n": len(table), "ids": encode(arrays[0]), "columns": [encode(a) for a in arrays[1:]]}


def unpack(data: Mapping[str, Any], shapes: Sequence[Shape]) -> Table:
    """The table from :func:`pack`'s output, base64 or binary. Binary fields are wrapped, not
    copied: the arrays are read-only views of the record (which they keep alive).

    Trailing float columns a summary was written without (it predates them) read as NaN."""
    n = int(data["n"])
    ids = np.frombuffer(_decoded(data["ids"]), dtype="<u8").astype(np.uint64, copy=False)
    raw_columns = list(data["columns"])
    missing = shapes[len(raw_columns) :]
    if any(dtype.kind != "f" for dtype, _ in missing):
        raise DriftError("malformed window summary: columns are missing")
    columns = tuple(
        np.frombuffer(_decoded(raw), dtype=dtype.newbyteorder("<"))
        .astype(dtype, copy=False)
        .reshape(n, *shape)
        for raw, (dtype, shape) in zip(raw_columns, shapes[: len(raw_columns)], strict=True)
    ) + tuple(np.full((n, *shape), np.nan, dtype=dtype) for dtype, shape in missing)
    if ids.size != n:
        raise DriftError("malformed window summary: row count does not match")
    return Table(ids, columns)


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _bytes_of(array: np.ndarray) -> memoryview:
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8).data


def _decoded(value: str | bytes | memoryview) -> bytes | memoryview:
    return base64.b64decode(value) if isinstance(value, str) else value
