"""The batch's labeled examples are the ones the worker encoded one by one: same keys, same
timestamps, documents that decode to the same records."""

from __future__ import annotations

import numpy as np
import orjson

from centinela.contract.codec import decode, encode, encode_labeled
from centinela.contract.records import LabeledExample
from stream.join import Joined, Scored
from stream.labeled import labeled_rows
from stream.packed import Layout, event_fields, pack_events
from stream.validation import ValidLabel

LAYOUTS = {
    "1": Layout(("x0", "x1"), ("colour",), ("x0", "colour", "x1")),
    "2": Layout(("only",), (), ("only",)),
}
TIMES = ["2026-01-01T00:00:00.123456Z", "2026-01-01T01:00:00+01:00", "2025-12-31T23:59:59-05:30"]
LABEL_TIMES = ["2026-01-01T00:00:05+00:00", "2026-01-01T00:00:05.500000-08:00"]


def joins(n: int) -> list[Joined]:
    """Events of two versions, packed or kept as JSON (an integer feature), with labels."""
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        version = "1" if i % 3 else "2"
        layout = LAYOUTS[version]
        time = TIMES[i % len(TIMES)]
        values = rng.normal(size=len(layout.numeric)) * 10.0 ** (i % 9 - 4)
        colours = (['say "hi"', "ünï", "%s"][i % 3],) if layout.categorical else ()
        if i % 5 == 4:  # an integer feature: kept as its JSON
            features = dict(zip(layout.numeric, [int(v * 100) for v in values], strict=True))
            features.update(zip(layout.categorical, colours, strict=True))
            record = orjson.dumps({"event_id": f"e-{i}", "event_time": time, "features": features})
        else:
            [record] = pack_events([time], values[None, :], [colours])
        probabilities = None if i % 7 == 3 else (0.25, 0.75)
        predicted = i % 2
        event = Scored(
            f"e-{i}\u2713", 1767225600.0 + i / 3, version, predicted, probabilities, record
        )
        label = ValidLabel(
            event.event_id, (i // 2) % 2, event.event_ts + 5.0, LABEL_TIMES[i % 2], b""
        )
        out.append(Joined(event.event_id, event, label))
    return out


def one_by_one(item: Joined) -> tuple[bytes, bytes, int]:
    event_time, features = event_fields(item.event.record, LAYOUTS[item.event.version])
    value = encode_labeled(
        item.event_id, event_time, features, model_name="m", version=item.event.version,
        predicted=item.event.predicted, probabilities=item.event.probabilities,
        class_keys=("0", "1"), label=item.label.label, label_time=item.label.label_time,
    )  # fmt: skip
    return item.event_id.encode(), value, int(item.event.event_ts * 1000)


def test_labeled_rows_are_the_examples_encoded_one_by_one():
    joined = joins(300)
    rows = labeled_rows(joined, lambda event: LAYOUTS[event.version], "m", ("0", "1"))
    assert len(rows) == len(joined)
    for (key, value, moment), item in zip(rows, joined, strict=True):
        old_key, old_value, old_moment = one_by_one(item)
        assert (key, moment) == (old_key, old_moment)
        new, old = decode(LabeledExample, value), decode(LabeledExample, old_value)
        assert new == old and encode(new) == encode(old)
        assert list(orjson.loads(value).items()) == list(orjson.loads(old_value).items())
    assert labeled_rows([], lambda event: LAYOUTS["1"], "m", ("0", "1")) == []
