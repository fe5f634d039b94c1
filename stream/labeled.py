"""The labeled examples of a batch's joins, encoded together (LabeledExample records).

A join pairs a scored event, kept packed (:mod:`stream.packed`), with its label. The events of
one model version are unpacked into columns at once (their numeric features as one matrix) and
printed by :func:`~centinela.contract.codec.labeled_columns.labeled_values`. Events kept as
JSON (an integer feature, a time text that does not pack) are encoded one by one, as before.
Either way the document decodes to the same record.

>>> import numpy as np
>>> from stream.join import Joined, Scored
>>> from stream.packed import Layout, pack_events
>>> from stream.validation import ValidLabel
>>> layout = Layout(("x",), (), ("x",))
>>> [record] = pack_events(["2026-01-01T00:00:00Z"], np.array([[0.5]]), [()])
>>> event = Scored("e-1", 1767225600.0, "3", 1, (0.25, 0.75), record)
>>> label = ValidLabel("e-1", 1, 1767225605.0, "2026-01-01T00:00:05+00:00", b"{}")
>>> [(key, value, moment)] = labeled_rows(
...     [Joined("e-1", event, label)], lambda e: layout, "m", ("0", "1"))
>>> from centinela.contract.codec import decode
>>> from centinela.contract.records import LabeledExample
>>> key, moment, decode(LabeledExample, value).features
(b'e-1', 1767225600000, {'x': 0.5})
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from centinela.contract.codec import FeatureColumns, encode_labeled, labeled_values
from stream.join import Joined, Scored
from stream.memory import right_sized
from stream.packed import MARK, Layout, event_fields, unpack_columns

LabeledRow = tuple[bytes, bytes, int]  # Kafka key, value, timestamp (ms)


def labeled_rows(
    joined: Sequence[Joined],
    layout_of: Callable[[Scored], Layout],
    model_name: str,
    class_keys: tuple[str, ...],
) -> list[LabeledRow]:
    """Key, LabeledExample JSON and Kafka timestamp (the event time, for the retrain worker's
    time index) of each join, in order."""
    values: list[bytes | None] = [None] * len(joined)
    by_version: dict[str, list[int]] = {}
    width = len(class_keys)
    for at, item in enumerate(joined):
        event = item.event
        probabilities = event.probabilities
        # Probabilities that do not match the classes: the one-by-one path raises, as always.
        if event.record[:1] == MARK and (probabilities is None or len(probabilities) == width):
            by_version.setdefault(event.version, []).append(at)
    for version, positions in by_version.items():
        items = [joined[at] for at in positions]
        layout = layout_of(items[0].event)
        times, numeric, categorical = unpack_columns([item.event.record for item in items], layout)
        features = FeatureColumns(
            layout.numeric, numeric, layout.categorical, categorical, layout.order
        )
        printed = labeled_values(
            [item.event_id for item in items],
            times,
            features,
            model_name=model_name,
            version=version,
            predicted=[item.event.predicted for item in items],
            probabilities=[item.event.probabilities for item in items],
            class_keys=class_keys,
            labels=[item.label.label for item in items],
            label_times=[item.label.label_time for item in items],
        )
        for at, value in zip(positions, printed, strict=True):
            values[at] = value
    return [
        (
            item.event_id.encode(),
            _one(item, layout_of, model_name, class_keys) if value is None else value,
            int(item.event.event_ts * 1000),
        )
        for item, value in zip(joined, values, strict=True)
    ]


def _one(
    item: Joined,
    layout_of: Callable[[Scored], Layout],
    model_name: str,
    class_keys: tuple[str, ...],
) -> bytes:
    """One example the columns do not take, as the worker always encoded it."""
    event_time, features = event_fields(item.event.record, layout_of(item.event))
    value = encode_labeled(
        item.event_id,
        event_time,
        features,
        model_name=model_name,
        version=item.event.version,
        predicted=item.event.predicted,
        probabilities=item.event.probabilities,
        class_keys=class_keys,
        label=item.label.label,
        label_time=item.label.label_time,
    )
    # A copy of its own length: thousands wait to be published (stream.memory).
    return right_sized(value)
