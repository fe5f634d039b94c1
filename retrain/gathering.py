"""How much labeled data a retrain trains on: the requested range, or more once labels arrive.

The retrain policy asks for a challenger as soon as a performance problem shows, which is
often one drift window after the change began: a range of one window holds a couple of
thousand labeled examples, partly from before the change, and a challenger trained on it
recovers about half of the accuracy lost (docs/benchmarks.md, "Retrain on impact"). The
request's ``train_from`` is where the change began (the first window with a realised
performance problem); what the request cannot know is how much of the new concept will have
been labeled by the time a worker trains.

So, for a request the policy raised (not a manual one, whose range a person chose), the worker
reads on past ``train_until`` as labels arrive, until it holds ``retrain_target_rows`` labeled
examples since ``train_from`` or ``retrain_wait_seconds`` of wall-clock time have passed; then
it trains on the earliest ``retrain_target_rows`` of them (or on all it has). A range that
already holds enough is used as it is. Progress is logged at every look.

>>> from datetime import UTC, datetime
>>> from retrain.data import from_examples
>>> request = RetrainRequest(request_id="r", model_name="m", champion_version="1",
...     reason="concept_drift", train_from=datetime(2026, 1, 1, tzinfo=UTC),
...     train_until=datetime(2026, 1, 1, tzinfo=UTC))
>>> wants_more(request, rows=2_000, target=10_000)
True
>>> wants_more(request.model_copy(update={"reason": "manual"}), rows=2_000, target=10_000)
False
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from centinela.contract.records import RetrainRequest
from retrain.data import TrainingData

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0  # between two reads while waiting: a read of 10,000 rows takes ~1 s
OPEN_END = datetime(9999, 12, 31, tzinfo=UTC)  # "up to the newest label there is"

Reader = Callable[[datetime, datetime], TrainingData]


@dataclass(frozen=True)
class Gathering:
    """How long and how far to look for labeled examples."""

    target_rows: int
    wait_seconds: float
    poll_seconds: float = POLL_SECONDS


def wants_more(request: RetrainRequest, *, rows: int, target: int) -> bool:
    """Whether the worker should read past the request's range: a policy's request holding
    fewer than ``target`` rows (a manual range is what a person asked for, exactly)."""
    return request.reason != "manual" and rows < target


def gather(
    request: RetrainRequest,
    read: Reader,
    gathering: Gathering,
    *,
    pause: Callable[[float], bool] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TrainingData:
    """The labeled examples to train on for ``request`` (see the module's docstring).

    ``read(start, until)`` returns the examples whose event time is in ``[start, until]``;
    ``pause(seconds)`` waits and returns True when the worker is stopping (then the wait ends
    and the rows at hand are used)."""
    pause = pause or _sleep
    data = read(request.train_from, request.train_until)
    target = gathering.target_rows
    if not wants_more(request, rows=len(data), target=target):
        return data
    deadline = clock() + gathering.wait_seconds
    while True:
        data = read(request.train_from, OPEN_END)
        if len(data) >= target:
            log.info("%d labeled examples since %s: training on the first %d", len(data),
                     _moment(request.train_from), target)  # fmt: skip
            return earliest(data, target)
        left = deadline - clock()
        if left <= 0:
            log.warning(
                "waited %.0f s (CENTINELA_RETRAIN_WAIT_SECONDS) for %d labeled examples since "
                "%s; training on the %d there are",
                gathering.wait_seconds,
                target,
                _moment(request.train_from),
                len(data),
            )
            return data
        log.info(
            "request %s waits for labels: %d of %d labeled examples since %s (%.0f s left)",
            request.request_id,
            len(data),
            target,
            _moment(request.train_from),
            left,
        )
        if pause(min(gathering.poll_seconds, left)):
            log.info("stopping: training on the %d labeled examples there are", len(data))
            return data


def earliest(data: TrainingData, rows: int) -> TrainingData:
    """The first ``rows`` examples by event time (ties by event id): the same rows whenever the
    range is read, however many have arrived since."""
    order = np.lexsort((data.event_ids.astype(str), data.event_times))
    return data.take(order[:rows])


def last_event_time(data: TrainingData, fallback: datetime) -> datetime:
    """Where the rows actually end (the range a challenger's lineage records)."""
    if len(data) == 0:
        return fallback
    newest = np.datetime64(data.event_times.max(), "us").astype(datetime)
    return max(fallback, newest.replace(tzinfo=UTC))


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False  # a plain sleep is never told to stop


def _moment(value: datetime) -> str:
    return value.isoformat(timespec="seconds")
