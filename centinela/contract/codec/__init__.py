"""The one codec at the Kafka boundary: every record's JSON, written and read here only.

- :mod:`~centinela.contract.codec.pydantic_codec`: :func:`encode` and :func:`decode` of every
  record type through pydantic, with the canonical dead-letter reasons; :func:`dead_letter`.
- :mod:`~centinela.contract.codec.fast_encoders`: the hot records (FeatureEvent, LabelEvent,
  Prediction, LabeledExample) printed from columns into byte templates, no model per event.
- :mod:`~centinela.contract.codec.fast_decoders`: the common case of FeatureEvent and
  LabelEvent read with orjson; None sends anything else to :func:`decode`.
- :mod:`~centinela.contract.codec.labeled_columns`: LabeledExample documents of a batch from
  columns (:func:`labeled_values`), without a dict or a dumps per example.
- :mod:`~centinela.contract.codec.time_columns`: the common RFC 3339 times of a batch read at
  once (:func:`instants`; :func:`read_times` reads a few one by one instead); None sends
  anything else to :func:`aware_time`.

The records of :mod:`centinela.contract.records` are the schema; the fast paths are held to
them value for value by tests/centinela/contract/test_codec_equivalence.py.

>>> from centinela.contract.records import LabelEvent
>>> from datetime import UTC, datetime
>>> raw = encode(LabelEvent(event_id="e-1", label=1, label_time=datetime(2026, 1, 1, tzinfo=UTC)))
>>> raw
b'{"schema_version":1,"event_id":"e-1","label":1,"label_time":"2026-01-01T00:00:00Z"}'
>>> decode(LabelEvent, raw).label, label_event_fields(raw)[:2]
(1, ('e-1', 1))
"""

from centinela.contract.codec.fast_decoders import (
    aware_time,
    feature_event_fields,
    feature_event_rows,
    label_event_fields,
    label_event_rows,
    label_event_texts,
)
from centinela.contract.codec.fast_encoders import (
    PredictionEncoder,
    encode_labeled,
    feature_values,
    generated_ids,
    given_ids,
    indexed_ids,
    label_values,
    time_texts,
)
from centinela.contract.codec.labeled_columns import FeatureColumns, labeled_values
from centinela.contract.codec.pydantic_codec import (
    DEFAULT_MAX_BYTES,
    dead_letter,
    decode,
    encode,
    encode_key,
)
from centinela.contract.codec.time_columns import instants, read_times

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FeatureColumns",
    "PredictionEncoder",
    "aware_time",
    "dead_letter",
    "decode",
    "encode",
    "encode_key",
    "encode_labeled",
    "feature_event_fields",
    "feature_event_rows",
    "feature_values",
    "generated_ids",
    "given_ids",
    "indexed_ids",
    "instants",
    "label_event_fields",
    "label_event_rows",
    "label_event_texts",
    "label_values",
    "labeled_values",
    "read_times",
    "time_texts",
]
