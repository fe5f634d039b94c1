"""Loud where it matters: mostly late batches warn (log, metric, /status); a bad window partial is
skipped and counted, never a crash of the merger."""

from __future__ import annotations

import logging

import pytest

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from stream.app import summary_maker
from stream.champion import ChampionHolder
from stream.internal_topics import InternalTopics
from stream.prometheus import StreamMetrics
from stream.scoring_service import ScoringService


def _service() -> ScoringService:
    settings = Settings(_env_file=None, topic_prefix="late.")  # type: ignore[call-arg]
    return ScoringService(
        settings,
        Topics.from_settings(settings),
        InternalTopics.from_settings(settings),
        ChampionHolder(settings),
        StreamMetrics(),
        summary_maker(settings),
    )


def test_mostly_late_batches_warn_once_a_minute_and_clear(caplog: pytest.LogCaptureFixture):
    service = _service()
    with caplog.at_level(logging.WARNING, logger="stream.scoring_service"):
        service._watch_lateness(events=100, late=80)
        service._watch_lateness(events=100, late=90)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "CENTINELA_TOPIC_PREFIX" in warnings[0].getMessage()
    assert service.late_warning is not None and service.late_share == 0.9
    assert service.late_events_total == 170

    service._watch_lateness(events=100, late=10)
    assert service.late_warning is None and service.late_share == 0.1


def test_a_few_late_events_in_a_small_batch_say_nothing() -> None:
    service = _service()
    service._watch_lateness(events=5, late=5)
    assert service.late_warning is None and service.late_events_total == 5


def test_an_unreadable_window_partial_is_skipped_and_counted() -> None:
    """One bad partial must not stop the merger (and with it every later window)."""
    from stream.app import build_components
    from tests.stream.stream_data import FakeMessage

    settings = Settings(_env_file=None, topic_prefix="partial.")  # type: ignore[call-arg]
    parts = build_components(settings)
    parts.merger._add(FakeMessage(0, 3, b"m", b"not a partial"), now=0.0)
    assert parts.metrics.windows_failed._value.get() == 1.0
