"""The codec's fast paths are the pydantic records, byte for byte or value for value.

For FeatureEvent, LabelEvent, Prediction and LabeledExample, fast-encoded JSON decodes
(pydantic) to the intended record; for FeatureEvent and LabelEvent, pydantic's JSON reads (fast
decoders) to the record's values, and what a fast decoder accepts pydantic accepts with the same
values (what it declines goes to pydantic, so declining is always safe). Records are compared
with ``==`` and by their pydantic JSON, which also tells 1 from 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from centinela.contract import codec
from centinela.contract.codec import decode, encode
from centinela.contract.codec.fast_decoders import FEATURE_EVENT_KEYS, LABEL_EVENT_KEYS
from centinela.contract.records import (
    EVENT_ID_MAX_LENGTH,
    FeatureEvent,
    LabeledExample,
    LabelEvent,
    Prediction,
    PredictionRole,
    Record,
)
from centinela.exceptions import DecodeError

T = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)  # with microseconds: pydantic prints them
PLUS_TWO = timezone(timedelta(hours=2))
ESCAPED_IDS = ['say "hi"', "back\\slash", "new\nline", "tab\t\x01", "ünïcode-✓", "%d-%s", "😀"]
EDGE_MOMENTS = [  # year boundaries, a leap day, microseconds, before the epoch, years 1000-9999
    datetime(1999, 12, 31, 23, 59, 59, 999999, UTC), datetime(2000, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 29, 12, 0, 0, 1, UTC), datetime(2025, 12, 31, 23, 59, 59, 500000, UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999999, UTC), datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1000, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, UTC),
]  # fmt: skip
LABELS = [0, 1, -5, 2**62, "spam", "", 'q"uote', "%s", "ünï ☃", "1"]


def same_record(decoded: Record, intended: Record) -> None:
    assert decoded == intended
    assert encode(decoded) == encode(intended)


def typed(features: dict[str, Any]) -> list[tuple[str, type, Any]]:
    return [(name, type(value), value) for name, value in features.items()]


def datetime64(moments: list[datetime]) -> np.ndarray:
    return np.array([m.replace(tzinfo=None) for m in moments], dtype="datetime64[us]")


def ids_for(kind: str, n: int) -> tuple[list[str], list[bytes], list[bytes]]:
    """``n`` ids, their Kafka keys and their JSON strings: generated, or needing escapes."""
    if kind == "generated":
        return [f"run.1:_-{7 + i}" for i in range(n)], *codec.generated_ids("run.1:_", 7, n)
    wanted = [ESCAPED_IDS[i % len(ESCAPED_IDS)] + str(i) for i in range(n)]
    return wanted, *codec.given_ids(wanted)


def read_fast(record_type: type[Record], raw: bytes) -> Any:
    if record_type is FeatureEvent:
        return codec.feature_event_fields(raw)
    return codec.label_event_fields(raw)


def same_values(fast: Any, record: FeatureEvent | LabelEvent) -> None:
    """The fast decoder's values are the record's: the same types, the same instants."""
    if isinstance(record, FeatureEvent):
        event_id, moment, time_text, features = fast
        assert (event_id, moment, features) == (record.event_id, record.event_time, record.features)
        assert typed(features) == typed(record.features)
        assert datetime.fromisoformat(time_text) == moment
    else:
        assert fast == (record.event_id, record.label, record.label_time)
        assert type(fast[1]) is type(record.label)


def test_the_fast_decoders_know_exactly_the_records_fields() -> None:
    assert set(FeatureEvent.model_fields) == FEATURE_EVENT_KEYS
    assert set(LabelEvent.model_fields) == LABEL_EVENT_KEYS


def test_time_texts_print_every_moment_with_six_fraction_digits() -> None:
    texts = codec.time_texts(datetime64(EDGE_MOMENTS))
    naive = [m.replace(tzinfo=None) for m in EDGE_MOMENTS]
    assert texts == [m.isoformat(timespec="microseconds").encode() for m in naive]
    _, quoted = codec.generated_ids("t", 0, len(EDGE_MOMENTS))
    documents = codec.label_values(quoted, [1] * len(texts), texts)
    for document, moment in zip(documents, EDGE_MOMENTS, strict=True):
        assert decode(LabelEvent, document).label_time == moment


# -- FeatureEvent and LabelEvent: fast encoders -> pydantic (and -> fast decoders) --------------

F32 = np.array([0.1, 1e-7, 3.4028235e38, 1.1754944e-38, 1e-45, 16777217, 1 / 3], np.float32)
F32_SEEDED = np.random.default_rng(0).normal(0.0, 1.0, 200).astype(np.float32)
F64 = np.array([0.1, -1e-300, 12345678901234.5, 1e22, 0.0, -0.0, 5e-324, 1.7976931348623157e308])


def shortest(values: np.ndarray) -> list[float]:
    """What a float32 column sends: the shortest decimal that reads back as the same float32."""
    return [float(str(value)) for value in values]


def text(*values: str) -> np.ndarray:
    return np.array(values, dtype=object)


# Per case, per feature: the column, and the values the events should carry.
FEATURE_CASES: dict[str, dict[str, tuple[np.ndarray, list[Any]]]] = {
    "float64": {"a": (F64, F64.tolist()), "b": (-F64, (-F64).tolist())},
    "int64": {"n": (np.array([0, -1, 2**62, 7]), [0, -1, 2**62, 7])},
    "uint8, int64": {"u": (np.array([0, 255], np.uint8), [0, 255]), "i": (np.arange(2), [0, 1])},
    "float32": {"x": (F32, shortest(F32))},
    "seeded float32": {"x": (F32_SEEDED, shortest(F32_SEEDED))},
    # Mixed dtypes print in the matrix's common dtype, float64: ints come as floats and
    # float32 values as their exact float64.
    "int, float64": {"i": (np.array([7, -2]), [7.0, -2.0]), "f": (F64[:2], F64[:2].tolist())},
    "float32, float64": {"x": (F32[:2], [float(v) for v in F32[:2]]),
                         "f": (F64[:2], F64[:2].tolist())},
    "names with % and escapes": {"50%": (np.array([1.5, 2.5]), [1.5, 2.5]),
                                 "%s%d": (np.array([1, 2]), [1.0, 2.0]),
                                 'q"\\\n': (np.array([3.0, 4.0]), [3.0, 4.0])},
    "unicode names": {"températura": (F64[:1], [0.1]), "温度": (-F64[:1], [-0.1])},
    "categorical": {"x": (np.array([0.5, 1e22, -2.0]), [0.5, 1e22, -2.0]),
                    "n": (np.array([1, 2, 3]), [1, 2, 3]),
                    "colour": (text("red", 'say "x"', "ünï ☃"), ["red", 'say "x"', "ünï ☃"]),
                    "50%": (text("%s", "", "a\nb"), ["%s", "", "a\nb"])},
    # The per-event path (any categorical) reads float32 values as float64.
    "categorical, float32": {"x": (F32[:3], [float(v) for v in F32[:3]]),
                             "colour": (text("a", "b", "c"), ["a", "b", "c"])},
}  # fmt: skip


@pytest.mark.parametrize("kind", ["generated", "escaped"])
@pytest.mark.parametrize("case", list(FEATURE_CASES))
def test_feature_values_are_the_intended_feature_events(case: str, kind: str) -> None:
    columns = {name: column for name, (column, _) in FEATURE_CASES[case].items()}
    expected = {name: values for name, (_, values) in FEATURE_CASES[case].items()}
    n = len(next(iter(expected.values())))
    wanted, keys, quoted = ids_for(kind, n)
    moments = [T + timedelta(seconds=i, microseconds=i) for i in range(n)]
    times = codec.time_texts(datetime64(moments))
    documents = codec.feature_values(quoted, times, columns, tuple(columns))
    assert keys == [i.encode() for i in wanted] and len(documents) == n
    for row, document in enumerate(documents):
        features = {name: values[row] for name, values in expected.items()}
        intended = FeatureEvent(event_id=wanted[row], event_time=moments[row], features=features)
        same_record(decode(FeatureEvent, document), intended)
        assert document == encode(intended)
        # The stream's fast decoder reads the producers' documents to the same values.
        same_values(codec.feature_event_fields(document), intended)


def test_float32_values_read_back_as_the_same_float32() -> None:
    _, quoted = codec.generated_ids("f", 0, len(F32_SEEDED))
    times = codec.time_texts(np.zeros(len(F32_SEEDED), "datetime64[us]"))
    documents = codec.feature_values(quoted, times, {"x": F32_SEEDED}, ("x",))
    sent = np.array([decode(FeatureEvent, d).features["x"] for d in documents])
    assert np.array_equal(sent.astype(np.float32), F32_SEEDED)


@pytest.mark.parametrize("kind", ["generated", "escaped"])
def test_label_values_are_the_intended_label_events(kind: str) -> None:
    wanted, keys, quoted = ids_for(kind, len(LABELS))
    moments = [m.replace(microsecond=m.microsecond or 7) for m in EDGE_MOMENTS] + [T, T]
    documents = codec.label_values(quoted, LABELS, codec.time_texts(datetime64(moments)))
    assert keys == [i.encode() for i in wanted]
    for event_id, label, moment, document in zip(wanted, LABELS, moments, documents, strict=True):
        intended = LabelEvent(event_id=event_id, label=label, label_time=moment)
        same_record(decode(LabelEvent, document), intended)
        assert document == encode(intended)
        same_values(codec.label_event_fields(document), intended)


# -- FeatureEvent and LabelEvent: pydantic -> fast decoders -------------------------------------


RECORDS = [
    FeatureEvent(event_id="e-1", event_time=T, features={"x0": 0.25, "x1": -3, "colour": "red"}),
    FeatureEvent(event_id="x" * EVENT_ID_MAX_LENGTH, event_time=T, features={}),
    FeatureEvent(event_id="😀" * EVENT_ID_MAX_LENGTH, event_time=T, features={"a": 1e22}),
    *(
        FeatureEvent(event_id=i, event_time=m, features={"50%": 1.5, "ünï": "☃", i: i})
        for i, m in zip(ESCAPED_IDS, EDGE_MOMENTS, strict=False)
    ),
    FeatureEvent(event_id="+2", event_time=datetime(2026, 1, 1, 1, tzinfo=PLUS_TWO), features={}),
    FeatureEvent(event_id="big", event_time=T, features={"n": 2**63 - 1, "f": 5e-324}),
    *(
        LabelEvent(event_id=i, label=label, label_time=m)
        for i, label, m in zip(ESCAPED_IDS, LABELS, EDGE_MOMENTS, strict=False)
    ),
    LabelEvent(event_id="y" * EVENT_ID_MAX_LENGTH, label="1", label_time=T),
    LabelEvent(event_id="+2", label=1, label_time=datetime(2026, 1, 1, 1, tzinfo=PLUS_TWO)),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: f"{type(r).__name__}-{r.event_id[:9]}")
def test_pydantic_json_reads_fast_to_the_records_values(record: FeatureEvent | LabelEvent) -> None:
    fast = read_fast(type(record), encode(record))
    same_values(fast, record)
    moment = fast[1] if isinstance(record, FeatureEvent) else fast[2]
    assert moment.utcoffset() == timedelta(0)


# -- What a fast decoder accepts, pydantic accepts with the same values -------------------------

TIME = b'"2026-01-01T00:00:00Z"'
BODY = b'"event_time":' + TIME + b',"features":{"x":1.5,"n":2,"c":"red"}'
F, L = FeatureEvent, LabelEvent


def feature(event_id: bytes = b'"e"', rest: bytes = BODY, head: bytes = b"") -> bytes:
    return b'{%s"event_id":%s,%s}' % (head, event_id, rest)


def feature_at(time_text: bytes) -> bytes:
    return feature(rest=BODY.replace(TIME, b'"%s"' % time_text))


def label_doc(
    value: bytes = b"1", when: bytes = TIME, head: bytes = b"", eid: bytes = b'"e"'
) -> bytes:
    return b'{%s"event_id":%s,"label":%s,"label_time":%s}' % (head, eid, value, when)


def quoted(character: str, count: int) -> bytes:
    return b'"%s"' % (character * count).encode()


AT_LIMIT, OVER = EVENT_ID_MAX_LENGTH, EVENT_ID_MAX_LENGTH + 1


@pytest.mark.parametrize(
    ("record_type", "raw", "fast_accepts", "pydantic_accepts"),
    [
        (F, feature(), True, True),
        (F, feature(head=b'"schema_version":1,'), True, True),
        (F, feature(head=b'"schema_version":2,'), False, False),
        (F, feature(head=b'"schema_version":true,'), False, False),
        (F, feature(head=b'"schema_version":1.0,'), False, False),
        (F, feature(head=b'"schema_version":null,'), False, False),
        (F, feature(head=b'"surprise":1,'), False, False),
        (F, feature(head=b'"schema_version":1,"surprise":1,'), False, False),
        (F, feature(b'""'), False, False),
        (F, feature(quoted("e", AT_LIMIT)), True, True),
        (F, feature(quoted("e", OVER)), False, False),
        (F, feature(quoted("😀", AT_LIMIT)), True, True),
        (F, feature(quoted("😀", OVER)), False, False),
        (F, feature(b'"say \\"hi\\" \\u00fc\\n"'), True, True),
        (F, feature(b"5"), False, False),
        (F, feature(rest=b'"event_time":' + TIME + b',"features":[1]'), False, False),
        (F, feature(rest=b'"event_time":' + TIME + b',"features":{}'), True, True),
        (F, feature(rest=b'"event_time":' + TIME), False, False),
        (F, feature_at(b"2026-01-01T00:00:00"), False, False),  # naive
        (F, feature_at(b"2026-01-01T01:00:00+01:00"), True, True),
        (F, feature_at(b"2026-01-01T00:00:00.1234567Z"), True, True),
        (F, feature_at(b"2025-12-31T23:59:59.999999-00:00"), True, True),
        (F, feature_at(b"2026-01-01t00:00:00z"), False, True),
        (F, feature_at(b"2026-01-01T24:00:00Z"), False, False),
        (F, feature_at(b"tomorrow"), False, False),
        (F, feature_at(b"20260101T000000Z"), False, False),  # fromisoformat reads it
        (F, feature_at(b"2026-W01-1T00:00Z"), False, False),  # fromisoformat reads it
        (F, feature_at(b"2026-01-01T00Z"), False, False),  # fromisoformat reads it
        (F, feature_at(b"2026-01-01T00:00:00.Z"), False, False),  # fromisoformat reads it
        (F, b"[]", False, False),
        (F, b"{not json", False, False),
        (L, label_doc(), True, True),
        (L, label_doc(b'"spam"', head=b'"schema_version":1,'), True, True),
        (L, label_doc(head=b'"schema_version":2,'), False, False),
        (L, label_doc(head=b'"surprise":1,'), False, False),
        (L, label_doc(b"true"), False, False),  # read strictly: not 1
        (L, label_doc(b"1.0"), False, False),
        (L, label_doc(b"[1]"), False, False),
        (L, label_doc(b"null"), False, False),
        (L, label_doc(when=b'"2026-01-01T00:00:00"'), False, False),
        (L, label_doc(when=b'"2026-01-01T02:00:00+02:00"'), True, True),
        (L, label_doc(eid=b'""'), False, False),
        (L, label_doc(eid=quoted("e", AT_LIMIT)), True, True),
        (L, label_doc(eid=quoted("e", OVER)), False, False),
        (L, b'{"event_id":"e","label":1}', False, False),
        (L, b"[]", False, False),
    ],
)
def test_a_fast_decoder_accepts_only_what_pydantic_accepts(
    record_type: type[FeatureEvent | LabelEvent],
    raw: bytes,
    fast_accepts: bool,
    pydantic_accepts: bool,
) -> None:
    fast = read_fast(record_type, raw)
    try:
        record: FeatureEvent | LabelEvent | None = decode(record_type, raw, max_bytes=10_000)
    except DecodeError:
        record = None
    assert (fast is not None, record is not None) == (fast_accepts, pydantic_accepts)
    if fast is not None and record is not None:
        same_values(fast, record)


# -- Prediction and LabeledExample: fast encoders -> pydantic -----------------------------------


@dataclass(frozen=True)
class Event:
    event_id: str
    event_time: str  # as it came: the fast path keeps the text, the careful path isoformat()


@dataclass(frozen=True)
class Batch:
    predicted: list[Any]
    probabilities: np.ndarray | None


TEXTS = ["2026-03-04T05:06:07.123456Z", "2026-01-01T01:00:00+01:00", "2025-12-31T23:59:59+00:00"]
TEXT_CLASSES = ("spam", "50%", 'q"ü')
THIRDS = [[0.1, 0.2, 0.7], [0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3]]
PREDICTION_CASES: dict[str, tuple[tuple[Any, ...], list[Any], np.ndarray | None]] = {
    "binary": ((0, 1), [1, 0, 1], np.array([[0.25, 0.75], [1.0, 0.0], [1e-300, 1 - 1e-16]])),
    "no probabilities": ((0, 1), [1, 0, 0], None),
    "text classes, % and escapes": (TEXT_CLASSES, ["50%", 'q"ü', "spam"], np.array(THIRDS)),
    "float32 probabilities": ((0, 1), [0, 1, 1], np.array([[0.1, 0.9]] * 3, np.float32)),
}


@pytest.mark.parametrize("role", ["champion", "shadow"])
@pytest.mark.parametrize(("model_name", "version"), [("m", "7"), ("m%s", 'v"%d')])
@pytest.mark.parametrize("case", list(PREDICTION_CASES))
def test_prediction_encoder_writes_the_intended_predictions(
    case: str, model_name: str, version: str, role: PredictionRole
) -> None:
    classes, predicted, probabilities = PREDICTION_CASES[case]
    encoder = codec.PredictionEncoder(model_name, version, classes, role=role)
    events = [Event(ESCAPED_IDS[i], time_text) for i, time_text in enumerate(TEXTS)]
    batch = Batch(predicted, probabilities)
    values = encoder.encode(events, batch, scored_at=T.isoformat(), latency_ms=2.5)
    rows = [None] * 3 if probabilities is None else probabilities.astype(np.float64).tolist()
    for event, value, predicted_class, row in zip(events, values, predicted, rows, strict=True):
        by_class = None if row is None else dict(zip(map(str, classes), row, strict=True))
        intended = Prediction(
            event_id=event.event_id, event_time=datetime.fromisoformat(event.event_time),
            model_name=model_name, model_version=version, role=role,
            predicted_class=predicted_class, probabilities=by_class, scored_at=T, latency_ms=2.5,
        )  # fmt: skip
        same_record(decode(Prediction, value), intended)


def test_a_prediction_written_before_roles_reads_as_the_champions() -> None:
    value = codec.PredictionEncoder("m", "1", (0, 1)).encode(
        [Event("e-1", TEXTS[0])], Batch([1], None), scored_at=T.isoformat(), latency_ms=1.0
    )[0]
    old = value.replace(b'"role":"champion",', b"")
    assert old != value and decode(Prediction, old).role == "champion"


def test_no_events_give_no_documents() -> None:
    assert codec.feature_values([], [], {"x": np.array([])}, ("x",)) == []
    assert codec.label_values([], [], []) == []
    encoder = codec.PredictionEncoder("m", "1", (0, 1))
    assert encoder.encode([], Batch([], np.empty((0, 2))), scored_at="", latency_ms=0.0) == []


LABELED_FEATURES = {"x0": 0.25, "x1": -3, "50%": 1e22, "colour": "ünï", 'q"': "%s"}
# event time, label time, predicted, label, probabilities, whether pydantic prints the same bytes
# (it does when the times come in its form: whole seconds without a fraction, else six digits)
LABELED_CASES = [
    ("2026-03-04T05:06:07.123456Z", "2026-03-04T05:06:37.5Z", 1, 0, (0.25, 0.75), False),
    ("2026-03-04T05:06:07.123456Z", "2026-03-04T05:06:37.000001Z", 1, 0, (0.25, 0.75), True),
    ("2025-12-31T23:59:59.999999Z", "2026-01-01T00:00:00.000001Z", "ham", "spam", None, True),
    ("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:30+00:00", 0, 1, (1.0, 0.0), False),
    ("2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", 0, 0, (1e-300, 1.0), True),
]


@pytest.mark.parametrize("case", LABELED_CASES)
@pytest.mark.parametrize("event_id", ["e-1", *ESCAPED_IDS])
def test_encode_labeled_writes_the_intended_labeled_example(
    event_id: str, case: tuple[Any, ...]
) -> None:
    event_time, label_time, predicted, label, probabilities, same_bytes = case
    keys = ("ham", "50%") if probabilities == (0.25, 0.75) else ("0", "1")
    value = codec.encode_labeled(
        event_id, event_time, dict(LABELED_FEATURES), model_name="m%s", version="7",
        predicted=predicted, probabilities=probabilities, class_keys=keys, label=label,
        label_time=label_time,
    )  # fmt: skip
    by_class = None if probabilities is None else dict(zip(keys, probabilities, strict=True))
    intended = LabeledExample(
        event_id=event_id, event_time=datetime.fromisoformat(event_time),
        features=LABELED_FEATURES, model_name="m%s", model_version="7", predicted_class=predicted,
        probabilities=by_class, label=label, label_time=datetime.fromisoformat(label_time),
    )  # fmt: skip
    same_record(decode(LabeledExample, value), intended)
    assert (value == encode(intended)) is same_bytes


EVENT_TIME_TEXTS = [
    "2026-03-04T05:06:07.123456Z", "2026-03-04T05:06:07Z", "2026-01-01T01:00:00+01:00",
    "2025-12-31T23:59:59.999999-05:30", "1969-12-31T23:59:59.5Z", "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:00:00+00:00", "2024-02-29T12:00:00.000001+14:00",
]  # fmt: skip
LABEL_TIME_TEXTS = [
    "2026-03-04T05:06:37.500000+00:00", "2026-01-01T00:00:30-08:00", "2000-01-01T00:00:00+00:00",
    "2026-03-04T05:06:07.000001+05:45", "1970-01-01T00:00:00+00:00",
]  # fmt: skip
EDGE_FLOATS = [0.0, -0.0, 1e22, 1e-7, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
               -1.5, 3.0, 0.1 + 0.2, 123456789.123456789, -1e15, 1e16]  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_labeled_values_decode_as_encode_labeled_writes_them(seed: int) -> None:
    """The batch encoder's documents are the one-by-one encoder's, value for value: numbers,
    escapes, times as they came (UTC or not), classes and probabilities."""
    rng = np.random.default_rng(seed)
    n = 60
    numeric_names = ("x0", "50%", 'q"') if seed % 2 else ("only",)
    categorical_names = ("colour", "%s") if seed % 3 else ()
    names = numeric_names + categorical_names
    # The document's order: as placed (seeds 0 and 3), reversed, or sorted.
    order = names if seed in (0, 3) else names[::-1] if seed % 2 == 0 else tuple(sorted(names))
    numeric = rng.normal(0, 10.0 ** rng.integers(-8, 12), (n, len(numeric_names)))
    numeric.flat[: len(EDGE_FLOATS)] = EDGE_FLOATS[: numeric.size]
    categories = ["red", "ünï", 'say "hi"', "%s", "", "a},{b", "😀"]
    categorical = [
        [categories[(i + j) % 7] for j in range(len(categorical_names))] for i in range(n)
    ]
    classes = ("ham", "spam") if seed % 2 else ("0", "1", "2")
    class_values: list[Any] = ["ham", "spam"] if seed % 2 else [0, 1, 2]
    probabilities: list[tuple[float, ...] | None] = [
        None if seed == 4 or i % 11 == 5 else tuple(rng.dirichlet(np.ones(len(classes))).tolist())
        for i in range(n)
    ]
    ids, _, _ = ids_for("escaped" if seed % 2 else "generated", n)
    event_times = [EVENT_TIME_TEXTS[i % len(EVENT_TIME_TEXTS)] for i in range(n)]
    label_times = [LABEL_TIME_TEXTS[i % len(LABEL_TIME_TEXTS)] for i in range(n)]
    predicted = [class_values[i % len(class_values)] for i in range(n)]
    labels = [class_values[(i * 7) % len(class_values)] for i in range(n)]
    features = codec.FeatureColumns(numeric_names, numeric, categorical_names, categorical, order)
    values = codec.labeled_values(
        ids, [t.encode() for t in event_times], features, model_name="m%s", version="7",
        predicted=predicted, probabilities=probabilities, class_keys=classes, labels=labels,
        label_times=label_times,
    )  # fmt: skip
    assert len(values) == n
    for i, value in enumerate(values):
        row = dict(zip(numeric_names, numeric[i].tolist(), strict=True))
        row.update(zip(categorical_names, categorical[i], strict=True))
        old = codec.encode_labeled(
            ids[i], event_times[i], {name: row[name] for name in order}, model_name="m%s",
            version="7", predicted=predicted[i], probabilities=probabilities[i],
            class_keys=classes, label=labels[i], label_time=label_times[i],
        )  # fmt: skip
        same_record(decode(LabeledExample, value), decode(LabeledExample, old))
        assert orjson_loads(value) == orjson_loads(old)  # the same texts, key order included
    assert codec.labeled_values([], [], features, model_name="m", version="7", predicted=[],
                                probabilities=[], class_keys=classes, labels=[],
                                label_times=[]) == []  # fmt: skip


def orjson_loads(value: bytes) -> list[tuple[str, Any]]:
    import orjson

    return list(orjson.loads(value).items())
