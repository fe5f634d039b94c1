"""Loud where it matters: mostly late batches warn (log, metric, /status); a bad window partial is
skipped and counted, never a crash of the merger."""

from __future__ import annotations

import logging

import pytest

from centinela.contract.settings import Settings
from stream.lateness import LatenessWatch


def test_mostly_late_batches_warn_once_a_minute_and_clear(caplog: pytest.LogCaptureFixture):
    watch = LatenessWatch()
    with caplog.at_level(logging.WARNING, logger="stream.lateness"):
        watch.observe(events=100, late=80)
        watch.observe(events=100, late=90)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "CENTINELA_TOPIC_PREFIX" in warnings[0].getMessage()
    assert watch.warning is not None and watch.share == 0.9
    assert watch.total == 170

    watch.observe(events=100, late=10)
    assert watch.warning is None and watch.share == 0.1


def test_a_few_late_events_in_a_small_batch_say_nothing() -> None:
    watch = LatenessWatch()
    watch.observe(events=5, late=5)
    assert watch.warning is None and watch.total == 5


def test_an_unreadable_window_partial_is_skipped_and_counted() -> None:
    """One bad partial must not stop the merger (and with it every later window)."""
    from stream.app import build_components
    from tests.stream.stream_data import FakeMessage

    settings = Settings(_env_file=None, topic_prefix="partial.")  # type: ignore[call-arg]
    parts = build_components(settings)
    parts.merger._add(FakeMessage(0, 3, b"m", b"not a partial"), now=0.0)
    assert parts.metrics.windows_failed._value.get() == 1.0
