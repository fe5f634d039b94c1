"""Fast reading of the common case of FeatureEvent and LabelEvent documents: orjson and a few
type checks, no pydantic.

Each decoder returns the record's values, or None for anything it is not sure about: None
means "ask :func:`~centinela.contract.codec.decode`", whose verdict and reason codes are the
canonical ones. What a decoder accepts, pydantic accepts with the same values
(tests/centinela/contract/test_codec_equivalence.py). Feature values are passed through as
orjson read them (numbers, texts or anything else): their kinds are the reader's to check
against its profile.

>>> event_id, moment, text, features = feature_event_fields(
...     b'{"event_id":"e-1","event_time":"2026-01-01T00:00:00Z","features":{"x":1.5}}')
>>> event_id, moment.isoformat(), text, features
('e-1', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00Z', {'x': 1.5})
>>> feature_event_fields(b'{"event_id":"e-1","event_time":"2026-01-01T00:00:00",'
...                      b'"features":{"x":1.5}}') is None  # naive: pydantic says why
True
>>> label_event_fields(b'{"event_id":"e-1","label":"spam","label_time":"2026-01-01T00:00:00Z"}')
('e-1', 'spam', datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc))
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, cast

import orjson

from centinela.contract.records import EVENT_ID_MAX_LENGTH, SCHEMA_VERSION

# The fields of FeatureEvent and LabelEvent (a test holds them to the records').
FEATURE_EVENT_KEYS = frozenset({"schema_version", "event_id", "event_time", "features"})
LABEL_EVENT_KEYS = frozenset({"schema_version", "event_id", "label", "label_time"})


def feature_event_fields(raw: bytes) -> tuple[str, datetime, str, dict[str, Any]] | None:
    """``(event_id, event time, the time's text as it came, features)`` of a well-formed
    FeatureEvent document, else None."""
    return feature_event_rows([raw])[0]


def feature_event_rows(
    raws: Sequence[bytes],
) -> list[tuple[str, datetime, str, dict[str, Any]] | None]:
    """:func:`feature_event_fields` of each document, in one loop (no call per document)."""
    out: list[tuple[str, datetime, str, dict[str, Any]] | None] = []
    version_now, longest = SCHEMA_VERSION, EVENT_ID_MAX_LENGTH
    for data in _documents(raws):
        # Exactly the known keys: with three, the .get()s below catch a stranger.
        if (
            type(data) is not dict
            or (size := len(data)) not in (3, 4)
            or (size == 4 and "schema_version" not in data)
        ):
            out.append(None)
            continue
        version = data.get("schema_version", version_now)
        event_id, text, features = (
            data.get("event_id"),
            data.get("event_time"),
            data.get("features"),
        )
        if (
            type(version) is not int
            or version != version_now
            or type(event_id) is not str
            or not 1 <= len(event_id) <= longest
            or type(text) is not str
            or type(features) is not dict
            or (moment := aware_time(text)) is None
        ):
            out.append(None)
            continue
        out.append((event_id, moment, text, features))
    return out


def _documents(raws: Sequence[bytes]) -> Iterator[Any]:
    """Each document as orjson reads it; None for one that is not JSON (None is never a
    record, so the callers refuse both alike)."""
    loads, error = orjson.loads, orjson.JSONDecodeError
    for raw in raws:
        try:
            yield loads(raw)
        except error:
            yield None


def label_event_fields(raw: bytes) -> tuple[str, int | str, datetime] | None:
    """``(event_id, label, label time)`` of a well-formed LabelEvent document, else None."""
    texts = label_event_texts(raw)
    if texts is None:
        return None
    event_id, label, text = texts
    moment = aware_time(text)
    return None if moment is None else (event_id, label, moment)


def label_event_texts(raw: bytes) -> tuple[str, int | str, str] | None:
    """``(event_id, label, label time's text)`` of a LabelEvent document that is well formed
    but for its time, which is not read (:func:`aware_time` or
    :func:`~centinela.contract.codec.time_columns.instants` then must accept it), else None."""
    return label_event_rows([raw])[0]


def label_event_rows(raws: Sequence[bytes]) -> list[tuple[str, int | str, str] | None]:
    """:func:`label_event_texts` of each document, in one loop (no call per document)."""
    out: list[tuple[str, int | str, str] | None] = []
    keys, version_now = LABEL_EVENT_KEYS, SCHEMA_VERSION
    for data in _documents(raws):
        if type(data) is not dict or not data.keys() <= keys:
            out.append(None)
            continue
        version = data.get("schema_version", version_now)
        event_id, label, text = data.get("event_id"), data.get("label"), data.get("label_time")
        if (
            type(version) is not int
            or version != version_now
            or type(event_id) is not str
            or not 1 <= len(event_id) <= EVENT_ID_MAX_LENGTH
            or type(label) not in (int, str)
            or type(text) is not str
        ):
            out.append(None)
            continue
        out.append((event_id, cast(int | str, label), text))
    return out


# The common RFC 3339 forms, which pydantic reads to the same instant. ``fromisoformat`` alone
# reads more (basic format, week dates, an hour alone) that pydantic refuses: such texts leave
# the fast path, and the careful one decides.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})")


def aware_time(text: str) -> datetime | None:
    """The timezone-aware time of an RFC 3339 text; None when it is naive, not a time, or in a
    form the fast path leaves to pydantic.

    >>> aware_time("2026-01-01T01:00:00+01:00").isoformat()
    '2026-01-01T01:00:00+01:00'
    >>> aware_time("20260101T000000Z") is None, aware_time("2026-01-01T00:00:00") is None
    (True, True)
    """
    if _RFC3339.fullmatch(text) is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
