"""Every kind of bad input gets its own dead-letter reason (docs/architecture.md, "Delivery
semantics"); good input passes both paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.time_bounds import TimeBounds
from stream.validation import FeatureValidator, LabelValidator, Rejected, ValidEvent, ValidLabel
from tests.stream.stream_data import T0, event_bytes, label_bytes, trained_model

GOOD = {"x0": 0.5, "x1": -1, "x2": 2.25, "colour": "red"}


@pytest.fixture(scope="module")
def validators() -> tuple[FeatureValidator, LabelValidator]:
    profile = trained_model().profile
    return FeatureValidator(profile, max_bytes=2000), LabelValidator(profile)


def event(**changes: object) -> bytes:
    body: dict[str, object] = {
        "schema_version": 1,
        "event_id": "e-1",
        "event_time": T0.isoformat(),
        "features": dict(GOOD),
    }
    body.update(changes)
    return orjson.dumps(body)


def test_a_good_event_passes_with_its_time_and_bytes(validators):
    raw = event_bytes("e-1", T0, GOOD)
    result = validators[0].validate(raw)
    assert isinstance(result, ValidEvent)
    assert (result.event_id, result.event_ts, result.raw) == ("e-1", T0.timestamp(), raw)
    assert result.features == GOOD


def test_the_careful_path_accepts_what_the_fast_path_leaves_to_it(validators):
    # An offset timestamp and no schema_version go through pydantic and still pass.
    raw = orjson.dumps(
        {"event_id": "e-2", "event_time": "2026-01-01T01:00:00+01:00", "features": GOOD}
    )
    result = validators[0].validate(raw)
    assert isinstance(result, ValidEvent)
    assert result.event_ts == T0.timestamp()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed_json"),
        (None, "malformed_json"),
        (event(event_time="2026-01-01T00:00:00"), "naive_timestamp"),
        (event(features={**GOOD, "x0": None}), "invalid_record"),
        (
            b'{"event_id":"e","event_time":"2026-01-01T00:00:00Z","features":'
            b'{"x0":NaN,"x1":1,"x2":1,"colour":"red"}}',
            "non_finite",
        ),
        (
            b'{"event_id":"e","event_time":"2026-01-01T00:00:00Z","features":'
            b'{"x0":1e999,"x1":1,"x2":1,"colour":"red"}}',
            "non_finite",
        ),
        (event(features={k: v for k, v in GOOD.items() if k != "x2"}), "missing_feature"),
        (event(features={**GOOD, "x9": 1.0}), "extra_feature"),
        (event(features={**GOOD, "x0": "1.5"}), "wrong_type"),
        (event(features={**GOOD, "colour": 3}), "wrong_type"),
        (event(features={**GOOD, "x0": [1]}), "invalid_record"),
        (event(event_id=""), "invalid_record"),
        (event(schema_version=2), "unsupported_schema"),
        (event(unexpected=True), "invalid_record"),
        (event(features={**GOOD, "colour": "x" * 3000}), "oversized"),
    ],
)
def test_each_bad_event_gets_its_reason(validators, raw, reason):
    result = validators[0].validate(raw)
    assert isinstance(result, Rejected), result
    assert result.reason == reason


def test_a_good_label_takes_the_profile_class(validators):
    result = validators[1].validate(label_bytes("e-1", 1, T0))
    assert isinstance(result, ValidLabel)
    assert (result.label, result.label_ts) == (1, T0.timestamp())
    # A class sent as text matches the class the model knows.
    assert validators[1].validate(label_bytes("e-1", "1", T0)).label == 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (label_bytes("e-1", 7, T0), "unknown_class"),
        (b'{"event_id":"e-1","label":1,"label_time":"2026-01-01T00:00:00"}', "naive_timestamp"),
        (b'{"event_id":"e-1","label":[1],"label_time":"2026-01-01T00:00:00Z"}', "invalid_record"),
        (b"[]", "invalid_record"),
        (b"\xff\xfe", "malformed_json"),
    ],
)
def test_each_bad_label_gets_its_reason(validators, raw, reason):
    result = validators[1].validate(raw)
    assert isinstance(result, Rejected), result
    assert result.reason == reason


def test_a_batch_is_judged_exactly_like_its_events_one_by_one(validators):
    check = validators[0]
    batch = [
        event_bytes("a", T0, GOOD),
        event(features={**GOOD, "x0": "1.5"}),  # text where numpy would happily parse a number
        event(features={**GOOD, "x0": True}),  # not a number (numpy and lax pydantic say 1.0)
        event(features={**GOOD, "x1": None}),
        event(features={**GOOD, "x2": 12345}).replace(b"12345", b"1" + b"0" * 30),
        b"{not json",
        event_bytes("b", T0, {**GOOD, "x0": 3}),
    ]
    one_by_one = [check.validate(raw) for raw in batch]
    together = check.validate_many(batch).results
    assert [type(r) for r in together] == [type(r) for r in one_by_one]
    assert [getattr(r, "reason", None) for r in together] == [
        None,
        "wrong_type",
        "invalid_record",
        "invalid_record",
        "out_of_range",
        "malformed_json",
        None,
    ]
    assert [r.numeric for r in together if isinstance(r, ValidEvent)] == [
        r.numeric for r in one_by_one if isinstance(r, ValidEvent)
    ]
    # The common case takes the batch path: every numeric kind checked in one go.
    clean = [event_bytes(f"c{i}", T0, GOOD) for i in range(50)]
    validated = check.validate_many(clean)
    assert all(isinstance(r, ValidEvent) for r in validated.results)
    assert validated.numeric is not None and validated.numeric.shape == (50, 3)
    assert validated.rows == list(range(50))


def label_doc(**changes: object) -> bytes:
    body: dict[str, object] = {
        "schema_version": 1,
        "event_id": "e-1",
        "label": 1,
        "label_time": "2026-01-01T00:00:05.25Z",
    }
    body.update(changes)
    return orjson.dumps({k: v for k, v in body.items() if v is not MISSING})


MISSING = object()
LABEL_TIMES = [
    "2026-01-01T00:00:05Z", "2026-01-01T00:00:05.000000Z", "2026-01-01T00:00:05.5Z",
    "2026-01-01T00:00:05.123456789Z", "2026-01-01T01:00:05+01:00", "2025-12-31T19:00:05-05:00",
    "2026-01-01T00:00:05-00:00", "2026-01-01T00:00:05", "2026-01-01 00:00:05Z",
    "2026-01-01t00:00:05z",
    "20260101T000005Z", "2026-02-30T00:00:05Z", "2026-01-01T24:00:00Z", "1999-01-01T00:00:00Z",
    "2030-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "", "soon",
    "2025-12-31T23:00:00Z", "2026-01-01T02:00:00Z",
]  # fmt: skip
# Every kind of label: good ones in every time form, and every way to be bad.
LABEL_CORPUS = [
    *[label_doc(label_time=text) for text in LABEL_TIMES],
    *[label_doc(label=value) for value in (0, 1, "0", "1", 7, "spam", True, 1.0, None, [1], {})],
    *[label_doc(event_id=value) for value in ("", "x" * 300, 5, None, 'q"', "ünï")],
    label_doc(schema_version=2), label_doc(schema_version=MISSING), label_doc(schema_version="1"),
    label_doc(extra=1), label_doc(label_time=MISSING), label_doc(label=MISSING),
    label_doc(event_id=MISSING), label_doc(label_time=5), label_doc(event_id="e" * 3000),
    b"[]", b"{}", b"null", b"1", b"\xff\xfe", b"{not json", b"", None,
    b'{"event_id":"e","label":1,"label_time":"2026-01-01T00:00:05Z","label":2}',
    b' {"event_id" : "e", "label" : 1, "label_time" : "2026-01-01T00:00:05Z"} ',
]  # fmt: skip


@pytest.fixture(scope="module")
def labels_at_t0() -> LabelValidator:
    """Bounds from a clock fixed at T0: an hour ahead, a day back."""
    bounds = TimeBounds(max_ahead_seconds=3600.0, max_age_seconds=86400.0, clock=T0.timestamp)
    return LabelValidator(trained_model().profile, max_bytes=2000, bounds=bounds)


def test_a_batch_of_labels_is_judged_exactly_like_its_labels_one_by_one(labels_at_t0):
    check = labels_at_t0
    raws = LABEL_CORPUS * 2  # the second time, the classes are known to the batch
    offsets = [None if i % 7 == 0 else 100 + i for i in range(len(raws))]
    together = check.validate_many(raws, offsets)
    one_by_one = [check.validate(raw, offset=o) for raw, o in zip(raws, offsets, strict=True)]
    assert together == one_by_one
    reasons = {r.reason for r in together if isinstance(r, Rejected)}
    assert reasons == {
        "malformed_json", "invalid_record", "naive_timestamp", "unsupported_schema", "oversized",
        "time_out_of_range", "unknown_class",
    }  # fmt: skip
    accepted = [r for r in together if isinstance(r, ValidLabel)]
    assert len(accepted) == 36
    assert {r.label_time for r in accepted} >= {
        "2026-01-01T00:00:05+00:00", "2026-01-01T00:00:05.500000+00:00",
        "2026-01-01T00:00:05.123456+00:00", "2026-01-01T01:00:05+01:00",
        "2025-12-31T19:00:05-05:00",
    }  # fmt: skip
    assert check.validate_many([], []) == []


def test_common_labels_take_the_batch_path(labels_at_t0, monkeypatch):
    common = [LABEL_TIMES[i] for i in (0, 1, 2, 4, 5, 6)]  # not 3: nine fraction digits
    raws = [label_doc(event_id=f"e-{i}", label=i % 2, label_time=common[i % 6]) for i in range(50)]
    expected = [labels_at_t0.validate(raw, offset=i) for i, raw in enumerate(raws)]
    check = LabelValidator(trained_model().profile, bounds=labels_at_t0.bounds)
    monkeypatch.setattr(check, "validate", None)  # not called: the batch reads every one
    assert check.validate_many(raws, list(range(50))) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(LABEL_CORPUS),
            st.datetimes(min_value=datetime(2025, 12, 30), max_value=datetime(2026, 1, 3)),
            st.sampled_from([UTC, timezone(timedelta(hours=-3)), None]),
            st.sampled_from([0, 1, "1", 2]),
        ),
        max_size=30,
    )
)
def test_random_batches_of_labels_are_judged_one_by_one(labels_at_t0, parts):
    raws = [
        raw if i % 2 else label_bytes(f"e-{i}", value, moment.replace(tzinfo=zone))
        for i, (raw, moment, zone, value) in enumerate(parts)
    ]
    offsets = list(range(len(raws)))
    one_by_one = [labels_at_t0.validate(r, offset=o) for r, o in zip(raws, offsets, strict=True)]
    assert labels_at_t0.validate_many(raws, offsets) == one_by_one


# Good events in every time form, and every way an event can be bad.
EVENT_CORPUS = [
    *[event(event_time=text) for text in LABEL_TIMES],
    *[event(event_id=value) for value in ("", "x" * 300, 5, None, 'q"', "ünï")],
    event(schema_version=2), event(schema_version="1"), event(extra=1),
    event(features={**GOOD, "x0": "1.5"}), event(features={**GOOD, "x0": True}),
    event(features={**GOOD, "x1": None}), event(features={"x0": 1.0}),
    event(features={**GOOD, "x9": 1.0}), event(features={**GOOD, "colour": 3}),
    event(features={**GOOD, "x2": 1e300}), event(features=[1, 2]),
    b"[]", b"{}", b"null", b"\xff\xfe", b"{not json", b"", None, b"x" * 3000,
]  # fmt: skip


@pytest.fixture(scope="module")
def events_at_t0() -> FeatureValidator:
    """Bounds from a clock fixed at T0: an hour ahead, a day back."""
    bounds = TimeBounds(max_ahead_seconds=3600.0, max_age_seconds=86400.0, clock=T0.timestamp)
    return FeatureValidator(trained_model().profile, max_bytes=2000, bounds=bounds)


def test_a_batch_of_every_kind_of_event_is_judged_one_by_one(events_at_t0):
    together = events_at_t0.validate_many(EVENT_CORPUS).results
    assert together == [events_at_t0.validate(raw) for raw in EVENT_CORPUS]
    reasons = {r.reason for r in together if isinstance(r, Rejected)}
    assert reasons >= {"malformed_json", "naive_timestamp", "time_out_of_range", "wrong_type"}
    assert {r.event_time for r in together if isinstance(r, ValidEvent)} >= {
        "2026-01-01T00:00:05Z", "2026-01-01T00:00:05.123456789Z", "2025-12-31T19:00:05-05:00",
    }  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(EVENT_CORPUS),
            st.datetimes(min_value=datetime(2025, 12, 30), max_value=datetime(2026, 1, 3)),
            st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), None]),
        ),
        max_size=30,
    )
)
def test_random_batches_of_events_are_judged_one_by_one(events_at_t0, parts):
    raws = [
        raw if i % 2 else event_bytes(f"e-{i}", moment.replace(tzinfo=zone), GOOD)
        for i, (raw, moment, zone) in enumerate(parts)
    ]
    assert events_at_t0.validate_many(raws).results == [events_at_t0.validate(r) for r in raws]
