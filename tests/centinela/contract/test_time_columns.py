"""The batch time reader gives exactly what ``aware_time``, ``timestamp()`` and ``isoformat()``
give, one text at a time, or declines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centinela.contract.codec import aware_time
from centinela.contract.codec.time_columns import BATCH_FROM, instants, read_times

ODD_TEXTS = [
    "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00.000000Z",
    "2026-01-01T00:00:00.000001Z", "2026-01-01T00:00:00.1234567Z", "2026-01-01T00:00:00.123456789Z",
    "2026-01-01T00:00:00-00:00", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.25+05:30",
    "2026-01-01T00:00:00-23:59", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+01:60",
    "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "2026-02-29T00:00:00Z",
    "2024-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
    "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00", "1899-12-31T23:59:59.999999Z", "1900-01-01T00:00:00Z",
    "2200-12-31T23:59:59.999999Z", "2201-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
    "1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z", "2026-01-01t00:00:00Z",
    "2026-01-01 00:00:00Z", "2026-01-01T00:00:00z", "2026-01-01T00:00:00", "2026-01-01T00:00:00.Z",
    "2026-01-01T00:00:00+0100", "2026-01-01T00:00:00+01", "20260101T000000Z", "2026-1-01T00:00:00Z",
    "٢٠٢٦-01-01T00:00:00Z", "2026-01-01T00:00:00Z\x00", "2026-01-01T00:00:00.12\x003Z", "",
    "2026-01-01T00:00:00.123456+01:00 ", "x" * 1000, "2026-01-01T00:00:00.12a456Z",
    "2026-01-01T00:00:00+01:0Z", "2026-01-01T00:00:00.1+1:000",
]  # fmt: skip


def one_by_one(text: str) -> tuple[float | None, str | None]:
    moment = aware_time(text)
    return (None, None) if moment is None else (moment.timestamp(), moment.isoformat())


def same_as_one_by_one(texts: list[str]) -> int:
    """Asserts the batch agrees with the single reader; returns how many it read itself."""
    moments, isoformats = instants(texts)
    for text, moment, isoformat in zip(texts, moments, isoformats, strict=True):
        if isoformat is not None:  # read by the batch: exactly the single reader's values
            assert (moment, isoformat) == one_by_one(text), text
            assert type(moment) is float
        else:
            assert moment is None
    return sum(isoformat is not None for isoformat in isoformats)


def test_odd_texts_are_read_as_one_by_one_or_declined():
    read = same_as_one_by_one(ODD_TEXTS)
    assert read == 14  # the common forms of possible dates in 1900-2200: the rest is declined
    assert instants([]) == ([], [])


def test_every_microsecond_and_offset_form_reads_the_same():
    start = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    moments = [start + timedelta(microseconds=7 * i + 1, days=i) for i in range(500)]
    zones = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=45))]
    texts = [m.astimezone(zones[i % 3]).isoformat() for i, m in enumerate(moments)]
    texts += [m.isoformat().replace("+00:00", "Z") for m in moments]
    texts += [m.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z" for m in moments]
    assert same_as_one_by_one(texts) == len(texts)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(1850, 1, 1), max_value=datetime(2300, 1, 1)),
            st.integers(-23 * 60 - 59, 23 * 60 + 59),
            st.sampled_from(["Z", "offset"]),
            st.integers(0, 9),
        ),
        max_size=40,
    )
)
def test_random_times_read_the_same(parts):
    texts = []
    for moment, offset_minutes, zone, digits in parts:
        head = moment.strftime("%Y-%m-%dT%H:%M:%S")
        fraction = ("." + moment.strftime("%f") + "987")[: digits + 1] if digits else ""
        if zone == "Z":
            tail = "Z"
        else:
            sign = "-" if offset_minutes < 0 else "+"
            hours, minutes = divmod(abs(offset_minutes), 60)
            tail = f"{sign}{hours:02d}:{minutes:02d}"
        texts.append(head + fraction + tail)
    same_as_one_by_one(texts)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789-:T.Z+ z", min_size=18, max_size=34), max_size=20))
def test_near_miss_texts_are_read_the_same_or_declined(texts):
    same_as_one_by_one(texts)


@pytest.mark.parametrize("copies", [1, 20])  # 31 and 620 texts: each side of BATCH_FROM
def test_read_times_reads_as_one_by_one_or_declines_whatever_the_batch_size(copies):
    texts = ODD_TEXTS * copies
    assert (len(texts) >= BATCH_FROM) is (copies > 1)
    moments, isoformats = read_times(texts)
    for text, moment, isoformat in zip(texts, moments, isoformats, strict=True):
        assert (moment, isoformat) == one_by_one(text) or (moment, isoformat) == (None, None)
    assert sum(i is not None for i in isoformats) >= 14 * copies
