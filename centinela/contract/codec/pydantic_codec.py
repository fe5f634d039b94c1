"""The careful codec: every record type, JSON validated by pydantic into records.

Its reason codes are the canonical ones; the fast encoders and decoders beside it are held to
it by tests/centinela/contract/test_codec_equivalence.py.

>>> from centinela.contract.records import LabelEvent
>>> raw = b'{"event_id": "e-1", "label": 1, "label_time": "2026-01-01T00:00:00Z"}'
>>> decode(LabelEvent, raw).label
1
>>> decode(LabelEvent, b"{not json")
Traceback (most recent call last):
...
centinela.exceptions.DecodeError: cannot decode message as LabelEvent: malformed_json: ...
"""

from __future__ import annotations

import base64
import hashlib
from typing import TypeVar

from pydantic import ValidationError

from centinela.contract.records import DeadLetter, Record
from centinela.exceptions import DecodeError

R = TypeVar("R", bound=Record)

DEFAULT_MAX_BYTES = 1_000_000

# pydantic error types mapped to the stable dead-letter reasons (docs/architecture.md,
# "Delivery semantics"); any other validation error is ``invalid_record``.
_REASON_BY_ERROR_TYPE = {
    "json_invalid": "malformed_json",
    "json_type": "malformed_json",
    "timezone_aware": "naive_timestamp",
    "finite_number": "non_finite",
    "literal_error": "unsupported_schema",
}


def encode(record: Record) -> bytes:
    """Serialise a record to UTF-8 JSON bytes."""
    return record.model_dump_json().encode()


def encode_key(key: str | None) -> bytes | None:
    return None if key is None else key.encode()


def decode(record_type: type[R], data: bytes | None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> R:
    """Parse and validate ``data``; raise :class:`DecodeError` with a reason code on failure."""
    name = record_type.__name__
    if data is None:
        raise DecodeError("malformed_json", "empty message (tombstone)", record_type=name)
    if len(data) > max_bytes:
        raise DecodeError(
            "oversized", f"{len(data)} bytes exceeds the limit of {max_bytes}", record_type=name
        )
    try:
        return record_type.model_validate_json(data)
    except ValidationError as error:
        raise DecodeError(*_explain(error), record_type=name) from None


def _explain(error: ValidationError) -> tuple[str, str]:
    first = error.errors()[0]
    reason = _REASON_BY_ERROR_TYPE.get(first["type"], "invalid_record")
    where = ".".join(str(part) for part in first["loc"]) or "message"
    return reason, f"{where}: {first['msg']}"


def dead_letter(
    source_topic: str,
    value: bytes | None,
    reason: str,
    detail: str = "",
    *,
    key: bytes | None = None,
    partition: int | None = None,
    offset: int | None = None,
    keep_bytes: int = DEFAULT_MAX_BYTES,
) -> DeadLetter:
    """Wrap rejected bytes with why they were rejected; nothing accepted is dropped silently.

    A letter must always fit the dead-letter topic (see
    :func:`centinela.contract.topics.dead_letter_max_bytes`): an original longer than
    ``keep_bytes`` keeps its first ``keep_bytes`` bytes, with its whole length and SHA-256.

    >>> letter = dead_letter("t", b"x" * 10, "oversized", keep_bytes=4)
    >>> letter.original, letter.truncated, letter.original_length
    ('eHh4eA==', True, 10)
    """
    original = value or b""
    truncated = len(original) > keep_bytes
    return DeadLetter(
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        key=None if key is None else key[:1024].decode(errors="replace"),
        original=base64.b64encode(original[:keep_bytes]).decode(),
        reason=reason,
        detail=detail[:2000],
        truncated=truncated,
        original_length=len(original) if truncated else None,
        original_sha256=hashlib.sha256(original).hexdigest() if truncated else None,
    )
