"""Every kind of bad input gets its own dead-letter reason (docs/architecture.md, "Delivery
semantics"); good input passes both paths."""

from __future__ import annotations

import orjson
import pytest

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
