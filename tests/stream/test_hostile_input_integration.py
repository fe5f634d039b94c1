"""Hostile input on a real broker, with the default size limits: a worker keeps scoring.

- A 1 MB message the worker rejects lands in dead-letter (cut to the accepted size, with its
  whole length and SHA-256), on topics created with the defaults.
- Events and labels dated in the year 9999 or 3000 go to dead-letter as time_out_of_range and
  move no watermark: the events after them are scored and windowed.
- Input compressed with every codec Kafka offers is decoded and scored.
- Features and labels with other partition counts stop the start with a clear error.
- CENTINELA_START_FROM=latest: a first start scores only what comes after it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from kafka.admin import NewTopic

from centinela.contract.kafka_clients import aiokafka_config
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics, open_admin
from centinela.exceptions import ConfigError
from stream.internal_topics import ensure_stream_topics
from tests.stream.stream_data import T0, at, event_bytes, label_bytes
from tests.stream.stream_scenario import register_champion
from tests.stream.worker_process import WorkerProcess, count_by, publish, values, wait_for

pytestmark = pytest.mark.integration

GOOD = {"x0": 0.1, "x1": 0.2, "x2": 0.3, "colour": "red"}
CODECS = ("gzip", "snappy", "lz4", "zstd")


@pytest.fixture
def default_limits(make_settings: Callable[..., Settings], mlflow_store: str) -> Settings:
    """The defaults a user runs, but for a short window so that reports come quickly."""
    return make_settings(
        mlflow_tracking_uri=mlflow_store,
        window_seconds=2.0,
        allowed_lateness_seconds=2.0,
        batch_wait_ms=20,
        stream_app_id="hostile-test",
    )


def _send_compressed(settings: Settings, topic: str, codec: str, events: list[bytes]) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(compression_type=codec, **aiokafka_config(settings))
        await producer.start()
        try:
            for value in events:
                key = value.split(b'"event_id":"', 1)[1].split(b'"', 1)[0]
                await producer.send(topic, value, key=key)
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(send())


def test_oversized_poison_and_compressed_input_on_the_default_limits(
    default_limits: Settings, tmp_path: Path
) -> None:
    settings = default_limits
    assert settings.max_message_bytes == 1_000_000  # the default this test is about
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    huge = event_bytes("huge", T0, {**GOOD, "colour": "x" * 1_040_000})
    assert 1_000_000 < len(huge) < 1_048_576  # over the worker's limit, under the broker's
    poison = [
        (b"y9999", event_bytes("y9999", T0, GOOD).replace(b"2026", b"9999", 1)),
        (b"y3000", event_bytes("y3000", T0, GOOD).replace(b"2026", b"3000", 1)),
    ]
    poison_labels = [(b"y3000-label", label_bytes("e-0", 1, T0).replace(b"2026", b"3000", 1))]
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        publish(settings, topics.features, [(b"huge", huge), *poison])
        publish(settings, topics.labels, poison_labels)
        good = [(f"g{i}".encode(), event_bytes(f"g{i}", at(i * 0.05), GOOD)) for i in range(200)]
        publish(settings, topics.features, good)
        by_codec = {
            codec: [event_bytes(f"{codec}-{i}", at(10 + i * 0.01), GOOD) for i in range(50)]
            for codec in CODECS
        }
        for codec, events in by_codec.items():
            _send_compressed(settings, topics.features, codec, events)
        # Later event time, so that the windows of everything above close.
        publish(settings, topics.features, [(b"last", event_bytes("last", at(30), GOOD))])
        expected = len(good) + sum(map(len, by_codec.values())) + 1

        def scored() -> set[str]:
            return {p["event_id"] for p in values(settings, topics.predictions)}

        wait_for(lambda: len(scored()) >= expected, 120, "every good event scored", worker)
        wait_for(lambda: len(values(settings, topics.dead_letter)) >= 4, 60, "dead letters")

        ids = scored()
        assert {f"g{i}" for i in range(200)} <= ids
        for codec, events in by_codec.items():
            assert {f"{codec}-{i}" for i in range(len(events))} <= ids, codec
        assert not ids & {"huge", "y9999", "y3000"}

        dead = values(settings, topics.dead_letter)
        assert count_by(dead, "reason") == {"oversized": 1, "time_out_of_range": 3}
        [letter] = [d for d in dead if d["reason"] == "oversized"]
        kept = base64.b64decode(letter["original"])
        assert letter["truncated"] and letter["original_length"] == len(huge)
        assert letter["original_sha256"] == hashlib.sha256(huge).hexdigest()
        assert kept == huge[: settings.max_message_bytes]
        assert {d["offset"] for d in dead} >= {0}  # source offsets travel with the letters

        # No watermark moved to the future: the good events' windows were reported.
        wait_for(
            lambda: sum(r["n_events"] for r in values(settings, topics.drift)) >= len(good),
            60,
            "the good events' windows",
            worker,
        )
        assert worker.alive()
    finally:
        worker.stop()


def test_features_and_labels_with_other_partition_counts_stop_the_start(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(topic_partitions=2)
    topics = Topics.from_settings(settings)
    admin = open_admin(settings)
    try:
        admin.create_topics([NewTopic(topics.labels, num_partitions=3, replication_factor=1)])
    finally:
        admin.close()
    with pytest.raises(ConfigError, match=r"has 2 partitions and .* has 3"):
        ensure_stream_topics(settings)


def test_start_from_latest_scores_only_what_comes_after_the_first_start(
    default_limits: Settings, tmp_path: Path
) -> None:
    settings = default_limits
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    old = [(f"old{i}".encode(), event_bytes(f"old{i}", at(i * 0.1), GOOD)) for i in range(50)]
    publish(settings, topics.features, old)
    worker = WorkerProcess(settings, tmp_path / "worker.log", start_from="latest").start()
    try:
        worker.wait_ready()
        # "latest" is the end of each partition when the group first gets it: wait for that.
        wait_for(lambda: len(worker.status()["partitions"]) == 2, 60, "assignment", worker)
        new = [
            (f"new{i}".encode(), event_bytes(f"new{i}", at(10 + i * 0.1), GOOD)) for i in range(50)
        ]
        publish(settings, topics.features, new)

        def scored() -> set[str]:
            return {p["event_id"] for p in values(settings, topics.predictions)}

        wait_for(lambda: len(scored()) >= len(new), 60, "the new events scored", worker)
        assert scored() == {f"new{i}" for i in range(50)}
    finally:
        worker.stop()
