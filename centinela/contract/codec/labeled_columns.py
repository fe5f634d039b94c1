"""LabeledExample documents of a whole batch, from columns: the per-batch counterpart of
:func:`~centinela.contract.codec.encode_labeled`.

As :class:`~centinela.contract.codec.PredictionEncoder` does for predictions: what is the same
for the batch (field names, feature names, model name and version) is printed once into a byte
template; the numeric features and the probabilities of all examples are printed by one orjson
call each (the same shortest round-trip floats as per value), and per example only the id, the
times, the classes and the row's values are poured in. No dict and no ``orjson.dumps`` of a
whole document per example. tests/centinela/contract/test_codec_equivalence.py holds it to
:func:`~centinela.contract.codec.encode_labeled`, value for value.

>>> import numpy as np
>>> from centinela.contract.codec import decode
>>> from centinela.contract.records import LabeledExample
>>> features = FeatureColumns(("x",), np.array([[0.5]]), ("colour",), [["red"]], ("colour", "x"))
>>> [value] = labeled_values(
...     ["e-1"], [b"2026-01-01T00:00:00Z"], features, model_name="m", version="3",
...     predicted=[1], probabilities=[(0.25, 0.75)], class_keys=("0", "1"), labels=[0],
...     label_times=["2026-01-01T00:00:05+00:00"])
>>> value[:51]
b'{"schema_version":1,"event_id":"e-1","event_time":"'
>>> example = decode(LabeledExample, value)
>>> example.features, example.probabilities, example.label
({'colour': 'red', 'x': 0.5}, {'0': 0.25, '1': 0.75}, 0)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

from centinela.contract.records import SCHEMA_VERSION

_PLAIN = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII but '"' and '\': no JSON escape
_PLAIN_BYTES = re.compile(rb"[ !#-\[\]-~]*")


@dataclass(frozen=True)
class FeatureColumns:
    """The features of a batch: ``numeric`` (rows x ``numeric_names``, float64), the rows of
    the categorical values (in ``categorical_names`` order), and the order of the features in
    a document."""

    numeric_names: tuple[str, ...]
    numeric: np.ndarray
    categorical_names: tuple[str, ...]
    categorical: Sequence[Sequence[Any]]
    order: tuple[str, ...]


def labeled_values(
    event_ids: Sequence[str],
    event_times: Sequence[bytes],
    features: FeatureColumns,
    *,
    model_name: str,
    version: str,
    predicted: Sequence[Any],
    probabilities: Sequence[Sequence[float] | None],
    class_keys: Sequence[str],
    labels: Sequence[Any],
    label_times: Sequence[str],
) -> list[bytes]:
    """One LabeledExample JSON document per example (all scored by ``version``); the event
    times are the texts as they came, as bytes. The documents are their own length."""
    n = len(event_ids)
    if n == 0:
        return []
    template = _template(features.order, model_name, version)
    columns = (
        _quoted(event_ids),
        _quoted_bytes(event_times),
        _printed(predicted),
        _probability_rows(probabilities, tuple(class_keys)),
        _printed(labels),
        _quoted(label_times),
    )
    width = len(features.numeric_names)
    if width and features.numeric_names == features.order:
        # All numeric, in the document's order: each example's values are a slice of one list.
        flat = _printed_matrix(features.numeric, n, width)
        return [
            template % (quoted, moment, *flat[at : at + width], guess, proba, label, label_at)
            for quoted, moment, guess, proba, label, label_at, at in zip(
                *columns, range(0, n * width, width), strict=True
            )
        ]
    return [
        template % (quoted, moment, *row, guess, proba, label, label_at)
        for quoted, moment, guess, proba, label, label_at, row in zip(
            *columns, _feature_rows(features, n), strict=True
        )
    ]


def _printed_matrix(numeric: np.ndarray, n: int, width: int) -> list[bytes]:
    """The matrix's values printed row after row: "[[a,b],[c,d]]" -> a, b, c, d (one orjson
    call and one split for the batch)."""
    matrix = np.ascontiguousarray(numeric, dtype=np.float64).reshape(n, width)
    printed = orjson.dumps(matrix, option=orjson.OPT_SERIALIZE_NUMPY)
    return printed[2:-2].replace(b"],[", b",").split(b",")


def _quoted(texts: Sequence[str]) -> list[bytes]:
    """JSON strings of ``texts``: when none needs an escape (one regular-expression match for
    the batch), quoted and encoded all at once and cut at the newlines between them (a text
    that needs no escape holds no newline); else one ``orjson.dumps`` each."""
    if _PLAIN.fullmatch("".join(texts)):
        return ('"' + '"\n"'.join(texts) + '"').encode().split(b"\n")
    return [orjson.dumps(text) for text in texts]


def _quoted_bytes(texts: Sequence[bytes]) -> list[bytes]:
    """:func:`_quoted` for UTF-8 texts."""
    if _PLAIN_BYTES.fullmatch(b"".join(texts)):
        return (b'"' + b'"\n"'.join(texts) + b'"').split(b"\n")
    return [orjson.dumps(text.decode()) for text in texts]


def _printed(values: Sequence[Any]) -> list[bytes]:
    """Each value as JSON, each distinct value printed once."""
    if len(set(map(type, values))) == 1:  # else 1 and True would be one dict key
        table = {value: orjson.dumps(value) for value in set(values)}
        return [table[value] for value in values]
    return [orjson.dumps(value) for value in values]


@lru_cache(maxsize=64)
def _template(order: tuple[str, ...], model_name: str, version: str) -> bytes:
    fields = b",".join(orjson.dumps(name).replace(b"%", b"%%") + b":%s" for name in order)
    tail = orjson.dumps({"model_name": model_name, "model_version": version})[1:-1]
    return (
        b'{"schema_version":%d,"event_id":%%s,"event_time":%%s,"features":{' % SCHEMA_VERSION
        + fields
        + b"},"
        + tail.replace(b"%", b"%%")
        + b',"predicted_class":%s,"probabilities":%s,"label":%s,"label_time":%s}'
    )


def _feature_rows(features: FeatureColumns, n: int) -> list[list[bytes]]:
    """Each example's printed feature values, in the document's order."""
    width = len(features.numeric_names)
    if width:
        flat = _printed_matrix(features.numeric, n, width)
        numeric = [flat[at : at + width] for at in range(0, n * width, width)]
    else:
        numeric = [[] for _ in range(n)]
    if features.categorical_names:
        for row, categories in zip(numeric, features.categorical, strict=True):
            row += _quoted_values(categories)
    placed = features.numeric_names + features.categorical_names
    if placed == features.order:
        return numeric
    reorder = _picker(tuple(placed.index(name) for name in features.order))
    return [list(reorder(row)) for row in numeric]


def _quoted_values(values: Sequence[Any]) -> list[bytes]:
    return [orjson.dumps(value) for value in values]


def _picker(positions: tuple[int, ...]) -> Callable[[list[bytes]], tuple[bytes, ...]]:
    if len(positions) == 1:
        only = positions[0]
        return lambda row: (row[only],)
    return itemgetter(*positions)


def _probability_rows(
    probabilities: Sequence[Sequence[float] | None], class_keys: tuple[str, ...]
) -> list[bytes]:
    """``{"class": p, ...}`` per example, ``null`` where there are none."""
    given = [row for row in probabilities if row is not None]
    if not given:
        return [b"null"] * len(probabilities)
    if any(len(row) != len(class_keys) for row in given):
        raise ValueError(f"probabilities do not match the {len(class_keys)} classes {class_keys}")
    template = _probability_template(class_keys)
    width = len(class_keys)
    printed = orjson.dumps(np.asarray(given, dtype=np.float64), option=orjson.OPT_SERIALIZE_NUMPY)
    flat = printed[2:-2].replace(b"],[", b",").split(b",")
    rows = iter([template % tuple(flat[at : at + width]) for at in range(0, len(flat), width)])
    return [b"null" if row is None else next(rows) for row in probabilities]


@lru_cache(maxsize=64)
def _probability_template(class_keys: tuple[str, ...]) -> bytes:
    return (
        b"{" + b",".join(orjson.dumps(k).replace(b"%", b"%%") + b":%s" for k in class_keys) + b"}"
    )
