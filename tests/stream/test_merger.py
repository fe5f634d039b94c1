"""The merger releases a window once every partition covers it, in window order."""

from __future__ import annotations

from typing import Any

from stream.window_merge import WindowMerger


class Counts:
    """A mergeable stand-in for a summary: a multiset of event ids (merge = union)."""

    def __init__(self, ids: set[str]) -> None:
        self.ids = ids

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counts:
        return cls(set(data["ids"]))

    def merge(self, *others: Counts) -> Counts:
        return Counts(self.ids.union(*(other.ids for other in others)))


def close(partition: int, through: int, windows: dict[tuple[str, int], list[str]], n: int = 3):
    return {
        "model": "m",
        "partition": partition,
        "n_partitions": n,
        "closed_through": through,
        "windows": [
            {"version": v, "window_id": w, "summary": {"ids": ids}}
            for (v, w), ids in windows.items()
        ],
    }


def test_a_window_waits_for_every_partition_then_merges_them():
    merger = WindowMerger(from_dict=Counts.from_dict, grace_seconds=100)
    merger.add(close(0, 5, {("1", 5): ["a"]}), offset=10, now=0)
    merger.add(close(2, 5, {("1", 5): ["c"]}), offset=11, now=0)
    assert merger.ready(now=1) == []
    assert merger.oldest_needed_offset() == 10
    merger.add(close(1, 6, {("1", 5): ["b"], ("1", 6): ["d"]}), offset=12, now=1)
    [window] = merger.ready(now=2)
    assert (window.version, window.window_id, window.complete) == ("1", 5, True)
    assert window.summary.ids == {"a", "b", "c"}
    assert window.partitions == (0, 1, 2)
    assert merger.oldest_needed_offset() == 12  # window 6 still needs its partial


def test_windows_come_out_in_order_and_versions_stay_apart():
    merger = WindowMerger(from_dict=Counts.from_dict, grace_seconds=100)
    for p in range(2):
        partials = {("2", 8): [f"x{p}"], ("1", 7): [f"y{p}"], ("1", 8): [f"z{p}"]}
        merger.add(close(p, 9, partials, n=2), offset=p, now=0)
    out = [(w.window_id, w.version, sorted(w.summary.ids)) for w in merger.ready(now=1)]
    assert out == [(7, "1", ["y0", "y1"]), (8, "1", ["z0", "z1"]), (8, "2", ["x0", "x1"])]


def test_a_silent_partition_delays_a_window_only_for_the_grace_period():
    merger = WindowMerger(from_dict=Counts.from_dict, grace_seconds=30)
    merger.add(close(0, 5, {("1", 5): ["a"]}, n=2), offset=0, now=0)
    assert merger.ready(now=29) == []
    [window] = merger.ready(now=31)
    assert not window.complete
    assert window.partitions == (0,)


def test_partials_repeated_after_a_restart_are_not_reported_twice():
    merger = WindowMerger(from_dict=Counts.from_dict, grace_seconds=30)
    merger.mark_released("1", 5)
    merger.add(close(0, 6, {("1", 5): ["a"], ("1", 6): ["b"]}, n=1), offset=0, now=0)
    assert [w.window_id for w in merger.ready(now=1)] == [6]
    # The same partition re-sending a window replaces its partial instead of double counting.
    merger.add(close(0, 7, {("1", 7): ["c"]}, n=2), offset=1, now=1)
    merger.add(close(0, 7, {("1", 7): ["c", "d"]}, n=2), offset=2, now=1)
    merger.add(close(1, 7, {}, n=2), offset=3, now=1)
    [window] = merger.ready(now=2)
    assert window.summary.ids == {"c", "d"}
