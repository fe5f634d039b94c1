"""Window assignment by event time, watermarks with lateness, labels holding the watermark."""

from __future__ import annotations

from typing import Any

import pytest

from stream.partition_windows import PartitionWindows


def windows(**kwargs: Any) -> PartitionWindows[dict[str, Any]]:
    def make(version: str, window_id: int, start: float, end: float) -> dict[str, Any]:
        return {"version": version, "window": window_id, "start": start, "end": end}

    return PartitionWindows(window_seconds=10.0, lateness_seconds=5.0, make_summary=make, **kwargs)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [(0.0, 0), (9.999, 0), (10.0, 1), (-0.5, -1), (1_767_225_615.0, 176722561)],
)
def test_an_event_belongs_to_the_window_of_its_time(moment, expected):
    assert windows().window_of(moment) == expected


def test_a_window_closes_after_its_end_plus_lateness():
    w = windows()
    w.summary("1", 0)
    w.observe_features(14.9)
    assert w.due(labels_caught_up=True) == -1  # window 0 ends at 10, lateness 5: not yet
    w.observe_features(15.0)
    assert w.due(labels_caught_up=True) == 0
    closed = w.close_through(0)
    assert [(v, wid) for v, wid, _ in closed] == [("1", 0)]
    assert not w.is_open(0) and w.is_open(1)
    assert w.close_through(0) == []  # closing twice closes nothing


def test_windows_are_kept_per_model_version():
    w = windows()
    a, b = w.summary("1", 3), w.summary("2", 3)
    assert a is not b
    assert w.summary("1", 3) is a
    assert [key for key, _ in w] == [("1", 3), ("2", 3)]
    assert {(v, wid) for v, wid, _ in w.close_through(3)} == {("1", 3), ("2", 3)}


def test_labels_read_from_a_backlog_hold_the_watermark():
    w = windows()
    w.observe_features(100.0)
    assert w.due(labels_caught_up=False) is None  # no label read yet: wait
    w.observe_labels(30.0)
    assert w.due(labels_caught_up=False) == 1  # held at the labels: (30 - 5) // 10 - 1
    assert w.due(labels_caught_up=True) == 8  # labels caught up: features decide


def test_the_newest_window_is_the_watermark_window():
    w = windows()
    assert w.newest_window() is None
    w.observe_features(42.0)
    w.observe_features(12.0)  # out of order: the watermark never goes back
    assert w.newest_window() == 4
