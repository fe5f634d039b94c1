"""Topic-level settings the topics are created with."""

from __future__ import annotations

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics


def test_labeled_is_kept_by_size_never_by_the_age_of_its_event_times() -> None:
    settings = Settings(_env_file=None, labeled_retention_bytes=1024**3)  # type: ignore[call-arg]
    topics = Topics.from_settings(settings)
    configs = topics.configs(topics.labeled, settings)
    assert configs["retention.ms"] == "-1"
    assert configs["retention.bytes"] == str(1024**3)
    assert configs["message.timestamp.type"] == "CreateTime"
    assert "retention.ms" not in topics.configs(topics.predictions, settings)


def test_shadow_predictions_have_a_topic_of_their_own_created_like_predictions() -> None:
    settings = Settings(_env_file=None, topic_prefix="p.")  # type: ignore[call-arg]
    topics = Topics.from_settings(settings)
    assert topics.shadow_predictions == "p.shadow-predictions"
    assert topics.shadow_predictions in topics.names() and topics.predictions in topics.names()
    assert topics.configs(topics.shadow_predictions, settings) == {}
