from __future__ import annotations

import base64

import pytest

from centinela.contract.codec import dead_letter, decode, encode
from centinela.contract.records import FeatureEvent, LabelEvent
from centinela.exceptions import DecodeError
from tests.stream.record_samples import T0

GOOD = b'{"schema_version":1,"event_id":"e","event_time":"2026-01-01T00:00:00Z","features":{"x":1}}'


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"", "malformed_json"),
        (None, "malformed_json"),
        (b'{"schema_version":1,"event_id":"e","features":{}}', "invalid_record"),
        (GOOD.replace(b'"x":1', b'"x":[1]'), "invalid_record"),
        (GOOD.replace(b"00Z", b"00"), "naive_timestamp"),
        (GOOD.replace(b'"x":1', b'"x":NaN'), "non_finite"),
        (GOOD.replace(b'"x":1', b'"x":Infinity'), "non_finite"),
        (GOOD.replace(b'"schema_version":1', b'"schema_version":9'), "unsupported_schema"),
        (GOOD.replace(b"}}", b'},"surprise":1}'), "invalid_record"),
    ],
)
def test_bad_bytes_raise_decode_error_with_a_reason(payload: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(FeatureEvent, payload)
    assert caught.value.reason == reason
    assert caught.value.record_type == "FeatureEvent"


def test_good_bytes_decode() -> None:
    event = decode(FeatureEvent, GOOD)
    assert event.features == {"x": 1}
    assert event.event_time.tzinfo is not None


def test_oversized_messages_are_refused_before_parsing() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(FeatureEvent, GOOD, max_bytes=10)
    assert caught.value.reason == "oversized"


def test_dead_letter_keeps_the_original_bytes() -> None:
    letter = dead_letter("t.features", b"\x00\xffraw", "malformed_json", "bad", key=b"k", offset=5)
    assert base64.b64decode(letter.original) == b"\x00\xffraw"
    assert (letter.reason, letter.key, letter.offset) == ("malformed_json", "k", 5)


def test_encode_writes_iso_utc_times() -> None:
    raw = encode(LabelEvent(event_id="e", label="spam", label_time=T0))
    assert b'"label_time":"2026-03-01T12:00:00Z"' in raw
