"""The changelog: groups round-trip, split under the message limit, incomplete groups skipped."""

from __future__ import annotations

from stream.changelog import (
    CHUNK_BYTES,
    ChangelogGroup,
    EventEntry,
    LabelEntry,
    encode_group,
    read_groups,
)


def group(n_events: int, *, raw_size: int = 100, partition: int = 1) -> ChangelogGroup:
    raw = b'{"f": "' + b"x" * raw_size + b'"}'
    return ChangelogGroup(
        partition=partition,
        next_feature_offset=n_events,
        next_label_offset=7,
        events=[
            EventEntry(f"e{i}", float(i), "2", i % 2, (0.5, 0.5), raw) for i in range(n_events)
        ],
        labels=[LabelEntry("e0", "yes", 3.0, "2026-01-01T00:00:03+00:00", b'{"l": 1}')],
        closed_through=12,
        feature_watermark=float(n_events),
        label_watermark=3.0,
    )


def test_a_large_group_is_split_and_read_back_whole():
    big = group(3000, raw_size=600)
    chunks = encode_group(big, group_id="a")
    assert len(chunks) > 1
    assert all(len(chunk) < CHUNK_BYTES + 50_000 for chunk in chunks)
    assert list(read_groups(chunks)) == [big]


def test_a_group_cut_short_by_a_crash_is_ignored():
    first, second, third = group(3000, raw_size=600), group(5), group(6)
    torn = encode_group(first, group_id="a")[:-1]
    chunks = encode_group(second, group_id="b") + torn + encode_group(third, group_id="c")
    assert list(read_groups(chunks)) == [second, third]


def test_an_empty_group_still_records_where_the_partition_stands():
    empty = ChangelogGroup(partition=0, next_feature_offset=None, next_label_offset=None,
                           closed_through=4)  # fmt: skip
    assert list(read_groups(encode_group(empty, group_id="z"))) == [empty]


def test_raw_bytes_come_back_exactly_whatever_they_hold():
    odd = [b'{\n  "event_id": "e\\"1",\n  "x": "caf\xc3\xa9"\n}\n', b"", b"\n\n", b"\xff\x00"]
    events = [EventEntry(f"e{i}", float(i), "1", 0, None, raw) for i, raw in enumerate(odd)]
    labels = [LabelEntry("e0", 1, 2.0, "2026-01-01T00:00:02+00:00", b'{"label":\n1}')]
    written = ChangelogGroup(partition=3, next_feature_offset=4, next_label_offset=1,
                             events=events, labels=labels)  # fmt: skip
    assert list(read_groups(encode_group(written, group_id="r"))) == [written]


def test_chunks_written_with_raw_bytes_as_json_strings_are_still_read():
    old = (
        b'{"g":"o","n":1,"p":0,"fo":2,"lo":1,"ct":null,"fw":1.0,"lw":null,"xw":null,"i":0,'
        b'"ev":{"id":["e1"],"ts":[1.0],"v":["1"],"p":[1],"pr":[[0.2,0.8]],'
        b'"raw":["{\\"event_id\\": \\"e1\\"}"]},'
        b'"lb":[["e1",1,2.0,"2026-01-01T00:00:02+00:00","{\\"label\\": 1}"]]}'
    )
    [restored] = read_groups([old])
    assert restored.events == [EventEntry("e1", 1.0, "1", 1, (0.2, 0.8), b'{"event_id": "e1"}')]
    assert restored.labels[0].raw == b'{"label": 1}'
    assert restored.next_feature_offset == 2


def test_the_challenger_s_class_of_each_event_round_trips_and_older_chunks_read_without():
    raw = b'{"x": 1}'
    events = [
        EventEntry("e0", 0.0, "1", 0, (0.9, 0.1), raw, "2", 1),
        EventEntry("e1", 1.0, "1", 1, (0.2, 0.8), raw),  # the challenger failed on its batch
        EventEntry("e2", 2.0, "1", "yes", None, raw, "3", "no"),
    ]
    written = ChangelogGroup(partition=0, next_feature_offset=3, next_label_offset=None,
                             events=events)  # fmt: skip
    [restored] = read_groups(encode_group(written, group_id="c"))
    assert restored == written
    assert [(e.challenger_version, e.challenger_predicted) for e in restored.events] == [
        ("2", 1), (None, None), ("3", "no"),
    ]  # fmt: skip
    big = group(3000, raw_size=600)  # split in chunks, some with a challenger and some without
    shadowed = [
        EventEntry(e.event_id, e.event_ts, e.version, e.predicted, e.probabilities, e.record,
                   "2" if i >= 2000 else None, 1 - e.predicted if i >= 2000 else None)
        for i, e in enumerate(big.events)
    ]  # fmt: skip
    mixed = ChangelogGroup(partition=1, next_feature_offset=1, next_label_offset=None,
                           events=shadowed)  # fmt: skip
    chunks = encode_group(mixed, group_id="m")
    assert len(chunks) > 1 and b'"cv"' not in chunks[0] and b'"cv"' in chunks[-1]
    assert list(read_groups(chunks)) == [mixed]
    # A group without a challenger is written as before: no challenger columns at all.
    assert all(b'"cv"' not in chunk for chunk in encode_group(big, group_id="b"))
    old = (
        b'{"g":"o","n":1,"p":0,"fo":2,"lo":1,"ct":null,"fw":1.0,"lw":null,"xw":null,"i":0,'
        b'"ev":{"id":["e1"],"ts":[1.0],"v":["1"],"p":[1],"pr":[[0.2,0.8]],"rl":[2]},'
        b'"lb":[]}\n{}'
    )
    [before] = read_groups([old])
    assert before.events == [EventEntry("e1", 1.0, "1", 1, (0.2, 0.8), b"{}")]
    assert before.events[0].challenger_version is None
