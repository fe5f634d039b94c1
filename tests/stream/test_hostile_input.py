"""No input stops the stream: any bytes, and any JSON value in any field of any record, is either
scored or dead-lettered with a reason; nothing raises out of a batch.

Property-based (hypothesis) over the pure pipeline, whose steps are the worker's own; plus the
two nets for what validation does not foresee (a model that raises, a batch that raises).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centinela.contract.codec import decode
from centinela.contract.records import DeadLetter
from stream.champion import Champion
from tests.stream.stream_data import T0, at, event_bytes, label_bytes, trained_model
from tests.stream.test_pipeline import SETTINGS, Log, new_pipeline, run

GOOD = {"x0": 0.5, "x1": -1.0, "x2": 2.0, "colour": "red"}
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
TIMES = st.sampled_from(
    [
        "2026-01-01T00:00:01Z",
        "9999-12-31T23:59:59+00:00",
        "3000-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+00:00",
        "1969-12-31T23:59:59Z",
        "2026-01-01T00:00:01",
        "20260101T000001Z",
        "2026-01-01T00:00:01.1234567890123Z",
    ]
)


@pytest.fixture(scope="module")
def champion() -> Champion:
    return Champion.from_model(trained_model("1"), SETTINGS)


def _feature_docs() -> st.SearchStrategy[bytes]:
    """Feature events with one field (or one feature) replaced by any JSON value."""
    base = {"schema_version": 1, "event_id": "e", "event_time": "2026-01-01T00:00:01Z"}

    def replace_field(name: str, value: Any) -> bytes:
        doc: dict[str, Any] = {**base, "features": dict(GOOD)}
        if name in GOOD:
            doc["features"][name] = value
        else:
            doc[name] = value
        return json.dumps(doc).encode()  # big integers too

    fields = st.sampled_from([*GOOD, "schema_version", "event_id", "event_time", "features", "x9"])
    return st.builds(replace_field, fields, JSON_VALUES | TIMES)


def _label_docs() -> st.SearchStrategy[bytes]:
    base = {"schema_version": 1, "event_id": "e", "label": 1, "label_time": "2026-01-01T00:00:02Z"}

    def replace_field(name: str, value: Any) -> bytes:
        return json.dumps({**base, name: value}).encode()

    fields = st.sampled_from([*base, "extra"])
    return st.builds(replace_field, fields, JSON_VALUES | TIMES)


ANY_FEATURE = _feature_docs() | st.binary(max_size=200)
ANY_LABEL = _label_docs() | st.binary(max_size=200)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    features=st.lists(ANY_FEATURE, min_size=1, max_size=6), labels=st.lists(ANY_LABEL, max_size=4)
)
def test_any_bytes_in_any_field_are_scored_or_dead_lettered(
    champion: Champion, features: list[bytes], labels: list[bytes]
) -> None:
    pipeline, log = new_pipeline(champion, partitions=(0,)), Log()
    ids = [f"e-{i}" for i in range(len(features))]
    # A good neighbour in every batch: hostile input must not take it down with it.
    feature_messages = [log.message("features", 0, "g", event_bytes("g", at(1), GOOD))]
    feature_messages += [
        log.message("features", 0, key, raw.replace(b'"e"', b'"%s"' % key.encode(), 1))
        for key, raw in zip(ids, features, strict=True)
    ]
    label_messages = [log.message("labels", 0, "e-0", raw) for raw in labels]

    out = run(pipeline, champion, {0: feature_messages}, {0: label_messages})

    predicted = len(out.predictions.get(0, []))
    assert predicted >= 1  # the good neighbour
    assert predicted + sum(1 for d in out.dead_letters if d.source_topic.endswith("features")) == (
        len(feature_messages)
    )
    for letter in out.dead_letters:
        assert letter.reason and letter.reason != "internal_error"
        decode(DeadLetter, letter.model_dump_json().encode())  # every letter is a valid record
    for _, value in out.predictions[0]:
        assert b"NaN" not in value and b"Infinity" not in value


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("9999-12-31T23:59:59+00:00", "time_out_of_range"),
        ("3000-01-01T00:00:00+00:00", "time_out_of_range"),
        ("0001-01-01T00:00:00+00:00", "time_out_of_range"),
        ("2026-01-01T00:00:05Z", None),
    ],
)
def test_poison_times_never_reach_a_watermark(champion: Champion, when: str, reason: str | None):
    pipeline, log = new_pipeline(champion, partitions=(0,)), Log()
    raw = event_bytes("e-1", T0, GOOD).replace(T0.isoformat().encode(), when.encode())
    label = label_bytes("e-2", 1, T0).replace(T0.isoformat().encode(), when.encode())
    out = run(
        pipeline,
        champion,
        {0: [log.message("features", 0, "e-1", raw)]},
        {0: [log.message("labels", 0, "e-2", label)]},
    )
    windows = pipeline.states[0].windows
    if reason is None:
        assert not out.dead_letters and windows.feature_watermark is not None
    else:
        assert Counter(d.reason for d in out.dead_letters) == Counter({reason: 2})
        assert windows.feature_watermark is None and windows.label_watermark is None


@dataclasses.dataclass
class _RaisesOnHuge:
    """A fitted model that cannot take one kind of input (as some real estimators cannot)."""

    fitted: Any

    @property
    def classes_(self) -> Any:
        return self.fitted.classes_

    def predict_proba(self, frame: Any) -> Any:
        if (np.abs(frame["x0"].to_numpy()) > 1000).any():
            raise ValueError("input out of the range this model was built for")
        return self.fitted.predict_proba(frame)


def test_events_the_model_raises_on_go_to_dead_letter_and_the_rest_are_scored() -> None:
    loaded = trained_model("1")
    fragile = dataclasses.replace(loaded, model=_RaisesOnHuge(loaded.model))
    champion = Champion.from_model(fragile, SETTINGS)
    pipeline, log = new_pipeline(champion, partitions=(0, 1)), Log()
    batch = {
        0: [
            log.message("features", 0, f"a{i}", event_bytes(f"a{i}", at(i), GOOD)) for i in range(3)
        ],
        1: [
            log.message("features", 1, "b0", event_bytes("b0", at(0), GOOD)),
            log.message("features", 1, "b1", event_bytes("b1", at(1), {**GOOD, "x0": 5000.0})),
            log.message("features", 1, "b2", event_bytes("b2", at(2), GOOD)),
        ],
    }
    out = run(pipeline, champion, batch)
    assert [(d.reason, d.key, d.partition, d.offset) for d in out.dead_letters] == [
        ("internal_error", "b1", 1, 1)
    ]
    assert [k for k, _ in out.predictions[0]] == [b"a0", b"a1", b"a2"]
    assert [k for k, _ in out.predictions[1]] == [b"b0", b"b2"]


def test_a_batch_that_raises_is_quarantined_and_its_offsets_move_on(champion: Champion) -> None:
    pipeline, log = new_pipeline(champion, partitions=(0,)), Log()
    features = {0: [log.message("features", 0, "e-1", event_bytes("e-1", at(1), GOOD))]}
    labels = {0: [log.message("labels", 0, "e-0", label_bytes("e-0", 1, at(2)))]}
    out = pipeline.quarantine(features, labels, RuntimeError("a bug"))
    assert [(d.reason, d.key) for d in out.dead_letters] == [
        ("internal_error", "e-1"),
        ("internal_error", "e-0"),
    ]
    assert out.dead_letters[0].detail == "RuntimeError: a bug"
    topics = pipeline.topics
    assert out.commits == {(topics.features, 0): 1, (topics.labels, 0): 1}
    assert pipeline.states[0].next_feature_offset == 1 and out.changelog[0] is not None
