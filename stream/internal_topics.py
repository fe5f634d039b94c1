"""The stream's own topics: the state changelog and the window partials the merger reads.

They are internal (named after ``stream_app_id`` under the topic prefix) and created by the
worker at start, next to the public topics of :mod:`centinela.contract.topics`.

>>> from centinela.contract.settings import Settings
>>> InternalTopics.from_settings(Settings(topic_prefix="t.")).partials
't.centinela-stream-window-partials'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics, create_topics, open_admin
from centinela.exceptions import ConfigError
from stream.state import retention_horizon

log = logging.getLogger(__name__)

# A closed window carries bounded exact values per feature; allow large messages for them.
PARTIALS_MAX_BYTES = 32 * 1024 * 1024


def group_base(settings: Settings) -> str:
    """Consumer groups and the Faust app id carry the topic prefix too, so two deployments on
    one cluster (or two test runs) never share a group."""
    return f"{settings.topic_prefix}{settings.stream_app_id}"


@dataclass(frozen=True)
class InternalTopics:
    changelog: str
    partials: str

    @classmethod
    def from_settings(cls, settings: Settings) -> InternalTopics:
        base = group_base(settings)
        # "-state-log": compacted, a key per chunk. (The delete-retained "-state-changelog" of
        # earlier releases kept one key per partition, which compaction would destroy.)
        return cls(changelog=f"{base}-state-log", partials=f"{base}-window-partials")


def changelog_configs(settings: Settings) -> dict[str, str]:
    """Compacted: a group stays until the worker retires it with tombstones, however long an
    outage lasts. Segments roll often enough for compaction to keep the log near the size of
    the live state (the cleaner never touches the segment being written)."""
    segment_ms = int(min(max(retention_horizon(settings) / 4, 60.0), 3600.0) * 1000)
    return {
        "cleanup.policy": "compact",
        "segment.ms": str(segment_ms),
        "delete.retention.ms": str(3_600_000),  # how long a tombstone outlives its group
        "min.cleanable.dirty.ratio": "0.5",
    }


def ensure_stream_topics(
    settings: Settings, topics: Topics | None = None, internal: InternalTopics | None = None
) -> None:
    """Create the public topics and the stream's internal ones (idempotent)."""
    topics = topics or Topics.from_settings(settings)
    internal = internal or InternalTopics.from_settings(settings)
    create_topics(settings, topics)
    admin = open_admin(settings)
    try:
        partitions = _partition_count(admin, topics.features)
        label_partitions = _partition_count(admin, topics.labels)
        if label_partitions != partitions:
            raise ConfigError(
                f"{topics.features} has {partitions} partitions and {topics.labels} has "
                f"{label_partitions}: a label must land in the partition number of its event "
                "(same key, same partition count, Kafka's default murmur2 partitioner), or no "
                "label can ever join. Recreate one of them with the other's partition count."
            )
        _create_missing(admin, _wanted(settings, internal, partitions))
    finally:
        admin.close()


def _partition_count(admin: KafkaAdminClient, topic: str) -> int:
    """The changelog is co-partitioned with the features topic as it exists, not as configured."""
    [described] = admin.describe_topics([topic])
    return len(described["partitions"])


def _wanted(settings: Settings, topics: InternalTopics, partitions: int) -> list[NewTopic]:
    return [
        NewTopic(
            topics.changelog,
            num_partitions=partitions,
            replication_factor=settings.topic_replication_factor,
            topic_configs=changelog_configs(settings),
        ),
        NewTopic(
            topics.partials,
            num_partitions=1,  # one merger sees every partition's partial of a window
            replication_factor=settings.topic_replication_factor,
            topic_configs={
                "max.message.bytes": str(PARTIALS_MAX_BYTES),
                "retention.ms": str(7 * 24 * 3600 * 1000),
            },
        ),
    ]


def _create_missing(admin: KafkaAdminClient, wanted: list[NewTopic]) -> None:
    existing = set(admin.list_topics())
    for topic in wanted:
        if topic.name in existing:
            continue
        try:
            admin.create_topics([topic])
            log.info("created internal topic %s", topic.name)
        except TopicAlreadyExistsError:  # another worker won the race
            pass
