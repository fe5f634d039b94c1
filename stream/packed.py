"""Accepted events in a packed form, for the label join and the changelog.

An accepted event waits in the join until its label comes, so the join holds (label delay x
event rate) of them, and the changelog carries each one. As JSON, 20 numeric features take ~600
bytes, mostly digits; as float64 values they take 160. Packed, an event takes ~200 bytes.

The form: a NUL byte (JSON never starts with one), the length of the event time's text (one
byte) and the text as it came, the numeric features as little-endian float64 in the profile's
order, then the categorical features as a JSON list, in the profile's order. The names are not
in it: it is read with the profile of the model version that scored the event
(:attr:`stream.join.Scored.version`).

Only events whose numeric features are all JSON floats are packed: an integer would come back
as a float, and a model whose MLflow signature has integer columns refuses floats. The others
keep their JSON, and :func:`event_fields` reads both.

>>> layout = Layout(("x", "y"), ("colour",), ("x", "colour", "y"))
>>> [record] = pack_events(["2026-01-01T00:00:00Z"], np.array([[0.5, 1.25]]), [("red",)])
>>> record[:1]
b'\\x00'
>>> event_fields(record, layout)
('2026-01-01T00:00:00Z', {'x': 0.5, 'colour': 'red', 'y': 1.25})
>>> event_fields(b'{"event_time": "t", "features": {"x": 1}}', layout)
('t', {'x': 1})
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import orjson

from centinela.contract.records import FeatureEvent
from centinela.models.profile import ReferenceProfile
from stream.validation import ValidEvent

MARK = b"\x00"
_FLOAT = np.dtype("<f8")
_FLOAT_ONLY = frozenset({float})
_HEADS = [MARK + bytes((length,)) for length in range(256)]  # the mark and the time's length


@dataclass(frozen=True)
class Layout:
    """Where a profile's features sit in the packed form, and their order in a document."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    order: tuple[str, ...]  # the profile's feature order, which documents keep
    numbers: struct.Struct = field(init=False, repr=False, compare=False)
    reorder: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "numbers", struct.Struct(f"<{len(self.numeric)}d"))
        object.__setattr__(self, "reorder", self.order != self.numeric + self.categorical)

    @classmethod
    def of(cls, profile: ReferenceProfile) -> Layout:
        return cls(profile.numeric_names, profile.categorical_names, profile.feature_names)


def pack_events(
    times: Sequence[str], numeric: np.ndarray, categorical: Sequence[Sequence[str]]
) -> list[bytes]:
    """Packed forms of events (their time texts, numeric matrix rows, categorical values);
    each time must be ASCII and under 256 bytes (:func:`packable`)."""
    matrix = np.ascontiguousarray(numeric, dtype=_FLOAT)
    width = matrix.shape[1] * _FLOAT.itemsize
    values = matrix.tobytes()
    records = []
    at = 0
    for text, categories in zip(times, categorical, strict=True):
        time = text.encode()
        tail = orjson.dumps(categories) if categories else b""
        records.append(b"".join((_HEADS[len(time)], time, values[at : at + width], tail)))
        at += width
    return records


def kept_records(
    events: Sequence[ValidEvent], numeric: np.ndarray | None, *, floats_only: bool | None = None
) -> list[bytes]:
    """What the join and the changelog keep of each accepted event: packed when it packs
    unchanged, else its JSON. ``numeric`` is the events' numeric matrix (None when some took
    validation's careful path: those keep their JSON); ``floats_only``, when the caller knows,
    whether all their numeric values came as floats."""
    if numeric is None or not events:
        return [event.raw for event in events]
    if floats_only is None:
        # One pass over every value of the batch (a set of their types), not a test per event.
        floats_only = set(map(type, chain.from_iterable(e.numeric for e in events))) <= _FLOAT_ONLY
    fits = [
        _short_ascii(e.event_time) if floats_only else packable(e.event_time, e.numeric)
        for e in events
    ]
    rows = [row for row, fit in enumerate(fits) if fit]
    packed = iter(
        pack_events(
            [events[row].event_time for row in rows],
            numeric[rows],
            [events[row].categorical for row in rows],
        )
    )
    return [next(packed) if fit else event.raw for event, fit in zip(events, fits, strict=True)]


def packable(time: str, numeric: Sequence[Any]) -> bool:
    """Whether an event packs without a change: floats only, and a short ASCII time text."""
    return _short_ascii(time) and all(type(value) is float for value in numeric)


def _short_ascii(text: str) -> bool:
    return len(text) < 256 and text.isascii()


def event_fields(record: bytes, layout: Layout) -> tuple[str, dict[str, Any]]:
    """An event's time text and features, from its packed form or its JSON."""
    if record[:1] != MARK:
        document = _document(record)
        return document["event_time"], document["features"]
    start = 2 + record[1]
    numbers = layout.numbers
    features = dict(zip(layout.numeric, numbers.unpack_from(record, start), strict=True))
    if layout.categorical:
        categories = orjson.loads(record[start + numbers.size :])
        features.update(zip(layout.categorical, categories, strict=True))
    if layout.reorder:
        features = {name: features[name] for name in layout.order}
    return record[2:start].decode(), features


def unpack_columns(
    records: Sequence[bytes], layout: Layout
) -> tuple[list[bytes], np.ndarray, list[Sequence[Any]]]:
    """The time texts (as bytes), numeric matrix and categorical rows of packed records (all
    packed, all read with ``layout``): :func:`event_fields` for a batch, without a dict each.

    >>> layout = Layout(("x", "y"), ("colour",), ("x", "colour", "y"))
    >>> records = pack_events(["t1", "t2"], np.array([[0.5, 1.0], [2.0, 3.0]]), [("a",), ("b",)])
    >>> times, numeric, categorical = unpack_columns(records, layout)
    >>> times, numeric.tolist(), categorical
    ([b't1', b't2'], [[0.5, 1.0], [2.0, 3.0]], [['a'], ['b']])
    """
    size = layout.numbers.size
    starts = [2 + record[1] for record in records]
    times = [record[2:start] for record, start in zip(records, starts, strict=True)]
    numbers = [record[start : start + size] for record, start in zip(records, starts, strict=True)]
    matrix = np.frombuffer(b"".join(numbers), dtype=_FLOAT).reshape(
        len(records), len(layout.numeric)
    )
    if layout.categorical:
        pairs = zip(records, starts, strict=True)
        categorical: list[Sequence[Any]] = [
            orjson.loads(record[start + size :]) for record, start in pairs
        ]
        if any(len(row) != len(layout.categorical) for row in categorical):
            raise ValueError(f"a packed record does not hold {len(layout.categorical)} categories")
    else:
        categorical = [()] * len(records)  # one shared empty row: no container per record
    return times, matrix, categorical


def _document(record: bytes) -> dict[str, Any]:
    """An accepted event's JSON as a dict. orjson reads whatever the fast path accepted; the
    careful path (pydantic) may have accepted a document orjson refuses, so it reads those."""
    try:
        document = orjson.loads(record)
    except orjson.JSONDecodeError:
        document = None
    if isinstance(document, dict):
        return document
    return FeatureEvent.model_validate_json(record).model_dump(mode="json")
