from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from centinela.contract.codec import decode, encode
from centinela.contract.records import ALL_RECORD_TYPES, FeatureEvent, LabelEvent
from tests.stream.record_samples import T0, sample_records


def test_every_record_type_has_a_sample() -> None:
    assert {type(record) for record in sample_records()} == set(ALL_RECORD_TYPES)


@pytest.mark.parametrize("record", sample_records(), ids=lambda r: type(r).__name__)
def test_every_record_round_trips_through_the_codec(record: object) -> None:
    assert decode(type(record), encode(record)) == record  # type: ignore[arg-type]


def test_records_are_immutable() -> None:
    event = FeatureEvent(event_id="e", event_time=T0, features={"x": 1.0})
    with pytest.raises(ValidationError):
        event.event_id = "other"  # type: ignore[misc]


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        FeatureEvent(event_id="e", event_time=datetime(2026, 1, 1), features={})


def test_timestamps_are_normalised_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    label = LabelEvent(event_id="e", label=0, label_time=datetime(2026, 1, 1, 14, tzinfo=plus_two))
    assert label.label_time.utcoffset() == timedelta(0)
    assert label.label_time.hour == 12


def test_non_finite_feature_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        FeatureEvent(event_id="e", event_time=T0, features={"x": float("nan")})


def test_every_record_carries_its_schema_version() -> None:
    for record in sample_records():
        assert b'"schema_version":1' in encode(record)
