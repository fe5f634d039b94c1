"""The packed form the join and the changelog keep: the same event comes back, smaller."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from stream.packed import MARK, Layout, event_fields, kept_records, packable
from stream.validation import FeatureValidator, ValidEvent
from tests.stream.stream_data import at, event_bytes, rows, seeded_frame, trained_model

PROFILE = trained_model().profile
LAYOUT = Layout.of(PROFILE)


def validated(documents: list[dict[str, Any]]) -> tuple[list[ValidEvent], Any]:
    batch = FeatureValidator(PROFILE).validate_many(
        [event_bytes(f"e-{i}", at(i), features) for i, features in enumerate(documents)]
    )
    assert all(isinstance(result, ValidEvent) for result in batch.results)
    return [r for r in batch.results if isinstance(r, ValidEvent)], batch.numeric


def test_a_packed_event_reads_back_as_it_came_and_is_much_smaller():
    events, numeric = validated(rows(seeded_frame(50, seed=4)))
    records = kept_records(events, numeric)
    assert all(record[:1] == MARK for record in records)
    for event, record in zip(events, records, strict=True):
        time, features = event_fields(record, LAYOUT)
        assert (time, features) == (event.event_time, event.features)
        assert list(features) == list(PROFILE.feature_names)
        assert len(record) < len(event.raw) / 2


def test_an_event_with_an_integer_feature_keeps_its_json():
    documents = rows(seeded_frame(3, seed=4))
    documents[1]["x0"] = 3  # would come back as 3.0: a signature with integer columns refuses it
    events, numeric = validated(documents)
    records = kept_records(events, numeric)
    assert [record[:1] == MARK for record in records] == [True, False, True]
    assert records[1] == events[1].raw
    _, features = event_fields(records[1], LAYOUT)
    assert type(features["x0"]) is int and features == documents[1]


@pytest.mark.parametrize("integer_at", [None, 0, 2])
def test_the_batch_s_own_float_check_keeps_what_kept_records_would_find(integer_at):
    documents = rows(seeded_frame(3, seed=4))
    if integer_at is not None:
        documents[integer_at]["x1"] = -2
    batch = FeatureValidator(PROFILE).validate_many(
        [event_bytes(f"e-{i}", at(i), document) for i, document in enumerate(documents)]
    )
    events = [r for r in batch.results if isinstance(r, ValidEvent)]
    assert batch.floats_only is (integer_at is None)
    given = kept_records(events, batch.numeric, floats_only=batch.floats_only)
    assert given == kept_records(events, batch.numeric)
    assert [event_fields(r, LAYOUT)[1] for r in given] == documents


def test_an_event_whose_time_text_is_too_long_to_pack_keeps_its_json():
    documents = rows(seeded_frame(3, seed=4))
    batch = FeatureValidator(PROFILE).validate_many(
        [event_bytes(f"e-{i}", at(i), document) for i, document in enumerate(documents)]
    )
    events = [r for r in batch.results if isinstance(r, ValidEvent)]
    assert len(events) == 3 and batch.numeric is not None
    # Validation's fast path takes only short RFC 3339 texts; the packer still refuses a long
    # one on its own (its layout has room for short ASCII texts only).
    events[1].event_time = "2026-01-01T00:00:01." + "0" * 300 + "+00:00"
    records = kept_records(events, batch.numeric)
    assert [record[:1] == MARK for record in records] == [True, False, True]
    assert [event_fields(r, LAYOUT)[1] for r in records] == documents


def test_events_from_the_careful_path_keep_their_json():
    events, _ = validated(rows(seeded_frame(2, seed=4)))
    assert kept_records(events, None) == [event.raw for event in events]


def test_records_written_as_json_before_packing_still_read():
    features = rows(seeded_frame(1, seed=4))[0]
    record = orjson.dumps(
        {"event_id": "e", "event_time": "2026-01-01T00:00:00Z", "features": features}
    )
    assert event_fields(record, LAYOUT) == ("2026-01-01T00:00:00Z", features)


def test_only_floats_and_short_ascii_times_pack():
    assert packable("2026-01-01T00:00:00+00:00", (1.5, -0.0))
    assert not packable("2026-01-01T00:00:00+00:00", (1.5, 2))
    assert not packable("2026-01-01T00:00:00+00:00", (True,))
    assert not packable("2026-01-01T00:00:00" + "0" * 300, (1.5,))
    assert not packable("\uff12026-01-01T00:00:00", (1.5,))  # a full-width digit
