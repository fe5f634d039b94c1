"""Waiting for enough labeled examples since the change (pure: a reader over a list that
grows as the fake clock runs, no broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from centinela.contract.records import RetrainRequest
from retrain.data import TrainingData
from retrain.gathering import OPEN_END, Gathering, earliest, gather, last_event_time

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Arrivals:
    """Labeled examples one second of event time apart; ``per_second`` more become readable
    each second of the fake wall clock (``at_start`` before any)."""

    def __init__(self, *, at_start: int, per_second: int, total: int) -> None:
        self.at_start, self.per_second, self.total = at_start, per_second, total
        self.now = 0.0
        self.reads: list[tuple[datetime, datetime]] = []

    def clock(self) -> float:
        return self.now

    def pause(self, seconds: float) -> bool:
        self.now += seconds
        return False

    def read(self, start: datetime, until: datetime) -> TrainingData:
        self.reads.append((start, until))
        arrived = min(self.total, self.at_start + int(self.now * self.per_second))
        times = [T0 + timedelta(seconds=i) for i in range(arrived)]
        keep = [i for i, t in enumerate(times) if start <= t <= until]
        rng = np.random.default_rng(0)
        order = rng.permutation(keep)  # read order is not event-time order
        return TrainingData(
            pd.DataFrame({"x": np.asarray(order, dtype=float)}),
            np.asarray(order) % 2,
            pd.to_datetime([times[i] for i in order], utc=True).to_numpy(dtype="datetime64[ns]"),
            np.asarray([f"e{i:06d}" for i in order], dtype=object),
            "test",
        )


def _request(reason: str = "concept_drift", until_s: int = 1999) -> RetrainRequest:
    return RetrainRequest(
        request_id="req-1",
        model_name="m",
        champion_version="1",
        reason=reason,  # type: ignore[arg-type]
        train_from=T0,
        train_until=T0 + timedelta(seconds=until_s),
    )


def test_a_policy_request_waits_until_the_target_then_trains_on_the_earliest_rows() -> None:
    arrivals = Arrivals(at_start=2_000, per_second=1_000, total=50_000)
    data = gather(
        _request(),
        arrivals.read,
        Gathering(target_rows=10_000, wait_seconds=600, poll_seconds=2),
        pause=arrivals.pause,
        clock=arrivals.clock,
    )
    assert len(data) == 10_000
    assert sorted(data.event_ids) == [f"e{i:06d}" for i in range(10_000)]
    # 2,000 at once, +2,000 per 2 s pause: the fifth read past the range holds 10,000.
    assert arrivals.reads[0] == (T0, T0 + timedelta(seconds=1999))
    assert [until for _, until in arrivals.reads[1:]] == [OPEN_END] * 5
    assert arrivals.now == 8.0


def test_the_wait_is_bounded_and_keeps_what_arrived() -> None:
    arrivals = Arrivals(at_start=2_000, per_second=100, total=50_000)
    data = gather(
        _request(),
        arrivals.read,
        Gathering(target_rows=10_000, wait_seconds=30, poll_seconds=4),
        pause=arrivals.pause,
        clock=arrivals.clock,
    )
    assert arrivals.now == 30.0
    assert len(data) == 2_000 + 30 * 100


def test_a_manual_range_and_a_range_already_large_enough_are_used_as_given() -> None:
    for request, at_start in ((_request("manual"), 2_000), (_request(until_s=19_999), 20_000)):
        arrivals = Arrivals(at_start=at_start, per_second=1_000, total=50_000)
        data = gather(
            request,
            arrivals.read,
            Gathering(target_rows=10_000, wait_seconds=600),
            pause=arrivals.pause,
            clock=arrivals.clock,
        )
        assert len(data) == at_start
        assert len(arrivals.reads) == 1 and arrivals.now == 0.0


def test_a_stopping_worker_ends_the_wait() -> None:
    arrivals = Arrivals(at_start=2_000, per_second=1_000, total=50_000)
    data = gather(
        _request(),
        arrivals.read,
        Gathering(target_rows=10_000, wait_seconds=600),
        pause=lambda seconds: True,
        clock=arrivals.clock,
    )
    assert len(data) == 2_000


def test_earliest_and_last_event_time() -> None:
    data = Arrivals(at_start=100, per_second=0, total=100).read(T0, OPEN_END)
    first = earliest(data, 10)
    assert sorted(first.event_ids) == [f"e{i:06d}" for i in range(10)]
    assert last_event_time(first, T0) == T0 + timedelta(seconds=9)
    assert last_event_time(first, T0 + timedelta(hours=1)) == T0 + timedelta(hours=1)
