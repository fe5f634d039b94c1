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
