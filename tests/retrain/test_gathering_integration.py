"""A policy's retrain waits for labels that reach ``labeled`` after its request (real broker,
real MLflow server)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from centinela.contract.settings import Settings
from tests.retrain.support import (
    examples,
    labeled_frame,
    recent,
    register_champion,
    request_for,
    send_request,
    wait_for_events,
    write_labeled,
)
from tests.retrain.test_worker_integration import running_worker

pytestmark = pytest.mark.integration


class _Waiting(logging.Handler):
    """Set once the worker logs that it waits for labels."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "waits for labels" in record.getMessage():
            self.seen.set()


def test_a_policy_request_trains_on_labels_that_arrive_while_it_waits(
    retrain_settings: Callable[..., Settings],
) -> None:
    settings = retrain_settings(retrain_target_rows=1500, retrain_wait_seconds=120.0)
    register_champion(settings)
    start = recent(60)
    frame, labels = labeled_frame(2000, seed=7, shift=0.8)
    rows = examples(frame, labels, model=settings.model_name, start=start)
    write_labeled(settings, rows[:1000])
    request = request_for(settings, start, rows[999].event_time)  # reason: data_drift
    waiting, logger = _Waiting(), logging.getLogger("retrain.gathering")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(waiting)
    try:
        with running_worker(settings):
            send_request(settings, request)
            assert waiting.seen.wait(60), "the worker never waited for labels"
            write_labeled(settings, rows[1000:])  # after the request's range, later in time
            (event,) = wait_for_events(settings, lambda e: e.request_id == request.request_id)
    finally:
        logger.removeHandler(waiting)
        logger.setLevel(level)

    assert event.event_type == "registered"
    # The first 1,500 by event time: 20% held out (300), half of it compared.
    assert event.metrics["holdout_rows"] == 150
    end = rows[1499].event_time.isoformat()
    assert f"1,500 labeled examples of {start.isoformat()} .. {end}, 1,200 trained on" in (
        event.reason
    )
