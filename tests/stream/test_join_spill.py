"""The join's disk tier changes where entries live, never what the join answers: the same
calls give the same joins, rejections and expiries with a memory bound of a few entries as
with none, and memory stays within the bound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream import spill as spill_module
from stream.join import (
    DUPLICATE_EVENT,
    Joined,
    JoinState,
    LabelRejected,
    Scored,
    decode_scored,
    encode_event_entry,
)
from stream.spill import SHARED_CACHE_BYTES, SpillStore, rocksdb_memory
from stream.validation import Rejected, ValidLabel

TTL = 10.0


def outcome(result: Any) -> Any:
    """What a caller sees of a join result (values, not object identity)."""
    if result is None:
        return None
    if isinstance(result, Joined):
        return (
            "joined",
            result.event_id,
            result.event.event_ts,
            result.event.record,
            result.event.probabilities,
            result.event.challenger_version,
            result.event.challenger_predicted,
            result.label.label_ts,
            result.label.raw,
            result.label.offset,
        )
    if isinstance(result, LabelRejected):
        return ("label rejected", result.label.event_id, result.label.raw, result.rejected.reason)
    assert isinstance(result, Rejected)
    return ("rejected", result.reason)


operation = st.one_of(
    st.tuples(st.just("event"), st.integers(0, 40), st.floats(0, 60)),
    st.tuples(st.just("label"), st.integers(0, 40), st.floats(0, 60)),
    st.tuples(st.just("expire"), st.integers(0, 0), st.floats(0, 80)),
)


def apply(join: JoinState, op: tuple[str, int, float], *, checked: bool = False) -> Any:
    """``checked``: ask :meth:`JoinState.knows` first, as the live path does, and add only
    a new event, telling the join it was checked."""
    kind, n, moment = op
    key = f"e-{n}"
    if kind == "event":  # a third of the events were scored by a challenger in the shadow too
        challenger = ("2", 1 - n % 2) if n % 3 == 0 else (None, None)
        scored = Scored(key, moment, "1", n % 2, (0.25, 0.75), b"r%d" % n, *challenger)
        if checked and join.knows(key):
            return ("rejected", DUPLICATE_EVENT)
        return outcome(join.add_event(scored, checked=checked))
    if kind == "label":
        return outcome(join.add_label(ValidLabel(key, n % 2, moment, "t", b"l%d" % n, n)))
    # Expiry hands back a bucket's labels in no promised order: memory keeps arrival order,
    # the disk its key order.
    return sorted(outcome(r) for r in join.expire(moment))


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=120), st.integers(1, 8))
def test_a_bounded_join_answers_as_an_unbounded_one(tmp_path_factory, ops, bound):
    folder = tmp_path_factory.mktemp("spill")
    unbounded = JoinState(TTL)
    bounded = JoinState(TTL, memory_entries=bound, spill=lambda: SpillStore(folder / "p0"))
    try:
        for op in ops:
            assert apply(bounded, op) == apply(unbounded, op), op
            assert bounded.memory_entry_count <= max(bound, unbounded.memory_entry_count)
            assert bounded.knows(f"e-{op[1]}") == unbounded.knows(f"e-{op[1]}")
        assert bounded.pending_labels <= unbounded.pending_labels
    finally:
        bounded.close()


@settings(max_examples=200, deadline=None)
@given(st.lists(operation, max_size=120), st.integers(1, 8))
def test_events_checked_by_the_caller_join_as_unchecked_ones(tmp_path_factory, ops, bound):
    """The live path asks :meth:`JoinState.knows` before scoring and then adds with
    ``checked=True``, which skips the join's own look-up of the id."""
    folder = tmp_path_factory.mktemp("spill")
    unbounded = JoinState(TTL)
    bounded = JoinState(TTL, memory_entries=bound, spill=lambda: SpillStore(folder / "p0"))
    try:
        for op in ops:
            assert apply(bounded, op, checked=True) == apply(unbounded, op), op
    finally:
        bounded.close()


def test_memory_stays_bounded_and_the_rest_goes_to_disk(tmp_path: Path) -> None:
    join = JoinState(3600.0, memory_entries=1000, spill=lambda: SpillStore(tmp_path / "p0"))
    try:
        for i in range(20_000):  # 20,000 unlabeled events over 2,000 s: all within the TTL
            join.add_event(Scored(f"e-{i}", i * 0.1, "1", 1, None, b"x" * 200))
            if i % 500 == 499:
                join.expire(i * 0.1)
                assert join.memory_entry_count <= 1000
        assert join.spilled_entries > 18_000
        assert join.pending_events == 20_000
        # The oldest event, on disk, still joins; a second label for it is a duplicate.
        joined = join.add_label(ValidLabel("e-0", 1, 5.0, "t", b"{}"))
        assert isinstance(joined, Joined) and joined.event.record == b"x" * 200
        again = join.add_label(ValidLabel("e-0", 1, 6.0, "t", b"{}"))
        assert isinstance(again, Rejected) and again.reason == "duplicate_label"
        assert join.knows("e-1") and not join.knows("e-99999")
        store = join.spill_store
        assert store is not None
        memory = rocksdb_memory([store])
        assert memory is not None and memory["memtables"] > 0  # what was spilled, not flushed
        assert 0 < memory["block_cache"] <= SHARED_CACHE_BYTES
    finally:
        join.close()
    assert not (tmp_path / "p0").exists()


def test_a_spilled_event_keeps_the_challenger_s_class() -> None:
    with_challenger = Scored("e", 1.5, "1", 0, (0.5, 0.5), b"\nraw\n", "2", "yes")
    without = Scored("f", 2.0, "1", 1, None, b"raw")
    for scored in (with_challenger, without):
        assert decode_scored(scored.event_id, encode_event_entry(scored)) == scored


def test_a_spill_moves_only_the_excess_even_from_a_bucket_larger_than_the_budget(
    tmp_path: Path,
) -> None:
    """An expiry bucket is 1/64 of the TTL (56 s at the default), which at a few thousand
    events a second holds more than the whole budget: spilling whole buckets emptied memory
    in one step and held the stream for a second."""
    join = JoinState(3600.0, memory_entries=1000, spill=lambda: SpillStore(tmp_path / "p0"))
    try:
        for i in range(5_000):  # all within one bucket: 5 s of event time
            join.add_event(Scored(f"e-{i}", i * 0.001, "1", 1, None, b"x"))
            if i % 100 == 99:
                spilled = join.spilled_entries
                join.expire(i * 0.001)
                # this step's 100 events, and the slack the first time
                assert join.spilled_entries - spilled <= 100 + 1000 // 64
                assert 1000 - 1000 // 64 <= join.memory_entry_count <= 1000 or i < 1000
        assert join.pending_events == 5_000
        # The oldest went to disk first: the newest are still in memory.
        assert join.memory_tiers()[0][1].keys() >= {"e-4999", "e-4500"}
        assert "e-0" not in join.memory_tiers()[0][1] and join.knows("e-0")
    finally:
        join.close()


def test_labels_waiting_on_disk_are_found_after_a_snapshot_hands_the_disk_over(
    tmp_path: Path,
) -> None:
    """The join skips the disk for labels while none wait there; one that takes over a
    snapshot's disk tier counts the labels waiting in it."""
    join = JoinState(3600.0, memory_entries=1000, spill=lambda: SpillStore(tmp_path / "p0"))
    labels = [ValidLabel(f"e-{i}", 1, i * 0.01, "t", b"l", i) for i in range(1_200)]
    try:
        for label in labels:
            assert join.add_label(label) is None  # the events are not here yet: they wait
        join.expire(12.0)  # 200 past the budget, and the slack, go to disk
        assert join.spilled_entries > 200
        join.checkpoint_disk(tmp_path / "copy")
    finally:
        join.close()
    successor = JoinState(3600.0, memory_entries=1000)
    successor.take_over_disk(SpillStore(tmp_path / "copy", entries=250))
    try:
        joined = successor.add_event(Scored("e-0", 0.0, "1", 1, None, b"x"))
        assert isinstance(joined, Joined) and joined.label.offset == 0
        again = successor.add_label(ValidLabel("e-1", 1, 1.0, "t", b"l", 1))
        assert isinstance(again, Rejected) and again.reason == "duplicate_label"
    finally:
        successor.close()


def test_an_expiry_scan_starts_where_the_last_ended_yet_finds_later_writes_below_it(
    tmp_path: Path,
) -> None:
    """Expiry scans start where the last one ended (not over the tombstones before it); an
    entry written below that point afterwards is still expired, and a reopened store, which
    does not know where the last scan ended, still finds everything."""
    store = SpillStore(tmp_path / "p0")
    for bucket in range(5):
        store.put_bucket(b"e", bucket, [(f"{bucket}-a", b"1"), (f"{bucket}-b", b"2")])
    assert [key for key, _ in store.pop_buckets_before(b"e", 3)] == [
        "0-a", "0-b", "1-a", "1-b", "2-a", "2-b"
    ]  # fmt: skip
    assert store.pop_buckets_before(b"e", 3) == []
    assert store.pop_buckets_before(b"e", 2) == []  # already expired: no scan
    store.put_bucket(b"e", 1, [("late", b"3")])  # below the last scan's end
    assert store.pop_buckets_before(b"e", 4) == [("late", b"3"), ("3-a", b"1"), ("3-b", b"2")]
    assert store.get(b"e", "late") is None
    store.checkpoint(tmp_path / "copy")
    store.destroy()
    reopened = SpillStore(tmp_path / "copy", entries=2)
    try:
        assert reopened.pop_buckets_before(b"e", 9) == [("4-a", b"1"), ("4-b", b"2")]
    finally:
        reopened.destroy()


def test_an_expiry_call_removes_a_chunk_and_the_next_goes_on_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call removes at most a chunk of index keys more than were put since the last call,
    up to a bound (its memory and time are bounded whatever a bucket holds, yet it keeps up
    with the inflow); the next call goes on where it stopped. Every entry is found once, in bucket
    order, and a write below where the scan stands is still found."""
    monkeypatch.setattr(spill_module, "EXPIRY_CHUNK", 3)
    monkeypatch.setattr(spill_module, "EXPIRY_CATCH_UP", 20)
    store = SpillStore(tmp_path / "p0")
    try:
        for bucket in (2, 3):
            store.put_bucket(b"e", bucket, [(f"{bucket}-{i}", b"v") for i in range(4)])
        assert store.pop_buckets_before(b"e", 0) == []  # nothing below bucket 0
        assert store.pop_buckets_before(b"e", 4) == [("2-0", b"v"), ("2-1", b"v"), ("2-2", b"v")]
        assert store.entries == 8 - 3
        store.put_bucket(b"e", 1, [("late", b"w")])  # below where the scan stands
        popped = [key for key, _ in store.pop_buckets_before(b"e", 4)]
        assert len(popped) == 3 + 1  # a chunk more than came since the last call
        while more := store.pop_buckets_before(b"e", 4):
            popped += [key for key, _ in more]
        assert popped == ["late", "2-3", "3-0", "3-1", "3-2", "3-3"]
        assert store.entries == 0
        store.put_bucket(b"e", 5, [(f"5-{i}", b"k") for i in range(10)])
        assert store.pop_buckets_before(b"e", 5) == []  # its bucket is not below 5
        store.put_bucket(b"e", 6, [(f"6-{i}", b"k") for i in range(10)])
        assert len(store.pop_buckets_before(b"e", 7)) == 3 + 10  # not 3: it keeps up
        assert len(store.pop_buckets_before(b"e", 7)) == 3
        store.put_bucket(b"e", 9, [(f"9-{i}", b"k") for i in range(30)])  # a burst of spills
        assert len(store.pop_buckets_before(b"e", 10)) == 3 + 20  # the catch-up bound
    finally:
        store.destroy()


def test_a_join_expires_its_disk_tier_a_chunk_per_call_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each expiry call removes at most a chunk from disk, so what is on disk may outlive its
    bucket by a few calls; every waiting label still comes back once, and a label for an
    event past the TTL is still rejected as such, whether its event had left disk or not."""
    monkeypatch.setattr(spill_module, "EXPIRY_CHUNK", 4)
    join = JoinState(TTL, memory_entries=1, spill=lambda: SpillStore(tmp_path / "p0"))
    try:
        for i in range(20):
            join.add_event(Scored(f"e-{i}", 1.0, "1", 1, None, b"x"))
            join.add_label(ValidLabel(f"orphan-{i}", 1, 1.0, "t", b"{}", i))
        join.expire(1.0)  # within the TTL: only spills, down to the bound
        join.expire(1.0)  # nothing new: the next call's allowance is a chunk only
        assert join.spilled_entries >= 38
        label = join.add_label(ValidLabel("e-0", 1, 30.0, "t", b"{}"))
        assert isinstance(label, Rejected) and label.reason == "label_past_ttl"  # still on disk
        returned = [r.label.event_id for r in join.expire(30.0)]
        assert 0 < len(returned) < 20 and join.spilled_entries > 0  # a chunk, not all at once
        late = join.add_label(ValidLabel("e-19", 1, 31.0, "t", b"{}"))
        assert isinstance(late, Rejected) and late.reason == "label_past_ttl"
        for _ in range(40):
            returned += [r.label.event_id for r in join.expire(30.0)]
        assert sorted(returned) == sorted(f"orphan-{i}" for i in range(20))
        assert join.spilled_entries == 0 and join.memory_entry_count == 0
    finally:
        join.close()
