"""Topic names and their idempotent creation (keys and records: docs/architecture.md,
"Topics and keys").

>>> from centinela.contract.settings import Settings
>>> Topics.from_settings(Settings(topic_prefix="t.")).features
't.features'
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, fields

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, NoBrokersAvailable, TopicAlreadyExistsError

from centinela.contract.kafka_access import unreachable
from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.settings import Settings

log = logging.getLogger(__name__)

# ``labeled`` records carry their event time as the Kafka timestamp (the retrain worker reads by
# it). Kafka 4 refuses timestamps more than an hour ahead of the broker's clock by default, and a
# producer's scenario clock may run ahead: this topic takes any event time.
_ANY_TIMESTAMP = {
    "message.timestamp.type": "CreateTime",
    "message.timestamp.after.max.ms": str(2**63 - 1),
    "message.timestamp.before.max.ms": str(2**63 - 1),
}


@dataclass(frozen=True)
class Topics:
    """The full names of Centinela's topics, all under one prefix."""

    features: str
    labels: str
    predictions: str
    shadow_predictions: str
    labeled: str
    drift: str
    alerts: str
    retrain_requests: str
    model_events: str
    dead_letter: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Topics:
        prefix = settings.topic_prefix
        return cls(**{f.name: prefix + f.name.replace("_", "-") for f in fields(cls)})

    def names(self) -> list[str]:
        return [getattr(self, f.name) for f in fields(self)]

    def configs(self, name: str, settings: Settings) -> dict[str, str]:
        """Topic-level settings a topic is created with (beyond partitions and replicas)."""
        if name == self.labeled:
            # Retained by size: time retention compares event times with the clock.
            return {
                **_ANY_TIMESTAMP,
                "retention.ms": "-1",
                "retention.bytes": str(settings.labeled_retention_bytes),
            }
        if name == self.dead_letter:
            return {"max.message.bytes": str(dead_letter_max_bytes(settings))}
        return {}


def dead_letter_max_bytes(settings: Settings) -> int:
    """The largest dead letter: an original of ``max_message_bytes`` (longer ones are cut to
    that, with their length and hash) in base64, with room for the letter's other fields."""
    return 2 * settings.max_message_bytes + 64 * 1024


@dataclass(frozen=True)
class TopicsCreated:
    created: list[str]
    existing: list[str]


def create_topics(settings: Settings, topics: Topics | None = None) -> TopicsCreated:
    """Create every topic with the configured partitions; topics that exist are left alone.

    Features, labels and predictions share one partition count so that a label lands in the
    partition that scored its event and the join stays local. A process that has built its
    :class:`Topics` passes them.
    """
    topics = topics or Topics.from_settings(settings)
    admin = open_admin(settings)
    try:
        # Metadata can lag just after a creation, so "already exists" also counts as existing.
        listed = set(admin.list_topics())
        created, existing = [], []
        for name in topics.names():
            if name in listed or not _create_one(
                admin, name, settings, topics.configs(name, settings)
            ):
                existing.append(name)
            else:
                created.append(name)
        log.info("topics: %d created, %d already existed", len(created), len(existing))
        return TopicsCreated(created, existing)
    finally:
        admin.close()


def _create_one(
    admin: KafkaAdminClient, name: str, settings: Settings, configs: dict[str, str]
) -> bool:
    """Create one topic; False if it already exists (another process may have won the race)."""
    topic = NewTopic(
        name,
        num_partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication_factor,
        topic_configs=configs,
    )
    try:
        admin.create_topics([topic])
    except TopicAlreadyExistsError:
        return False
    return True


def open_admin(settings: Settings) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            client_id="centinela-admin", request_timeout_ms=15_000, **kafka_python_config(settings)
        )
    except (NoBrokersAvailable, KafkaError, ssl.SSLError) as error:  # SSLError: TLS refused
        raise unreachable(
            settings,
            error,
            "start one with `centinela up` (or `docker compose up -d kafka`) "
            "or set CENTINELA_KAFKA_BOOTSTRAP_SERVERS",
        ) from None
