"""Restoring state on a real broker: a partition whose changelog cannot be restored is held
back (and ``/ready`` says why) while the others are processed; the changelog is compacted, and
the worker retires the groups it no longer needs with tombstones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.settings import Settings
from centinela.contract.topic_reader import read_to_end_blocking
from centinela.contract.topics import Topics, open_admin
from stream.internal_topics import InternalTopics, ensure_stream_topics
from tests.stream.stream_scenario import Scenario, register_champion
from tests.stream.test_worker_integration import predictions, publish_scenario
from tests.stream.worker_process import WorkerProcess, producer, publish, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(make_settings: Callable[..., Settings], mlflow_store: str) -> Settings:
    return make_settings(
        mlflow_tracking_uri=mlflow_store,
        window_seconds=2.0,
        allowed_lateness_seconds=1.0,
        join_ttl_seconds=1.0,
        batch_wait_ms=20,
        topic_partitions=2,
        stream_app_id="restore-test",
    )


def changelog_records(settings: Settings) -> list[tuple[bytes, bytes | None]]:
    topic = InternalTopics.from_settings(settings).changelog
    consumer = KafkaConsumer(enable_auto_commit=False, **kafka_python_config(settings))
    found: list[tuple[bytes, bytes | None]] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        read_to_end_blocking(
            consumer, tps, lambda _, records: found.extend((r.key, r.value) for r in records)
        )
    finally:
        consumer.close()
    return found


def test_an_unrestorable_partition_is_held_back_and_ready_says_why(
    settings: Settings, tmp_path: Path
) -> None:
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    internal = InternalTopics.from_settings(settings)
    sender = producer(settings)
    sender.send(internal.changelog, key=b"bad/0", value=b"not a changelog chunk", partition=0)
    sender.flush()
    sender.close()
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:

        def held_back() -> bool:
            try:
                answer = worker.get("/ready")
            except OSError:
                return False
            problems = " ".join(answer.json().get("problems", []))
            return answer.status_code == 503 and "partition 0" in problems

        wait_for(held_back, 120, "/ready to name partition 0", worker)
        topics = Topics.from_settings(settings)
        scenario = Scenario(n=300, label_share=0.0)
        publish(settings, topics.features, scenario.features, partition_of=lambda key: 1)
        held = Scenario(n=50, start=1000, label_share=0.0)
        publish(settings, topics.features, held.features, partition_of=lambda key: 0)
        wait_for(lambda: len(predictions(settings)) >= 300, 60, "partition 1 scored", worker)
        scored = {p["event_id"] for p in predictions(settings)}
        assert scored == set(scenario.ids())  # partition 0's events wait for its state
        restoring = worker.status()["restoring"]
        assert list(restoring) == ["0"] and restoring["0"]["attempts"] >= 1
        assert "JSONDecodeError" in restoring["0"]["failure"]
        assert worker.get("/ready").status_code == 503
    finally:
        worker.stop()


def test_the_changelog_is_compacted_and_dead_groups_get_tombstones(
    settings: Settings, tmp_path: Path
) -> None:
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    changelog = InternalTopics.from_settings(settings).changelog
    admin = open_admin(settings)
    try:
        [described] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, changelog)])
        configs = {entry[0]: entry[1] for entry in described.resources[0][4]}
    finally:
        admin.close()
    assert configs["cleanup.policy"] == "compact"
    # 24 s of event time against a TTL of 1 s, in batches of 200: most groups die before the
    # run ends.
    scenario = Scenario(n=3000, spacing=0.008, delay=0.3)
    publish_scenario(settings, scenario)
    worker = WorkerProcess(settings, tmp_path / "worker.log", batch_size=200).start()
    try:
        worker.wait_ready()
        wait_for(lambda: len(predictions(settings)) >= scenario.n, 90, "every event", worker)
    finally:
        worker.stop()
    records = changelog_records(settings)
    written = [key for key, value in records if value is not None]
    retired = [key for key, value in records if value is None]
    assert all(key.count(b"/") == 1 for key in written)  # a key per chunk, never per partition
    assert len(set(written)) == len(written)
    assert retired and set(retired) <= set(written)
    assert len(set(retired)) > len(written) / 2


def labeled_count(settings: Settings) -> int:
    from tests.stream.worker_process import values

    return len(values(settings, Topics.from_settings(settings).labeled))


def test_a_join_larger_than_its_memory_bound_spills_to_disk_and_joins_everything(
    make_settings: Callable[..., Settings], mlflow_store: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mlflow_tracking_uri=mlflow_store,
        window_seconds=2.0,
        allowed_lateness_seconds=1.0,
        join_ttl_seconds=3600.0,
        join_memory_entries=1000,
        batch_wait_ms=20,
        topic_partitions=1,
        stream_app_id="spill-test",
    )
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    # Labels come 20 s of event time after their events: ~5,000 events wait at once.
    scenario = Scenario(n=6000, spacing=0.004, delay=20.0)
    topics = Topics.from_settings(settings)
    publish(settings, topics.features, scenario.features)
    worker = WorkerProcess(settings, tmp_path / "worker.log", batch_size=500).start()
    try:
        worker.wait_ready()
        wait_for(lambda: len(predictions(settings)) >= scenario.n, 90, "every event", worker)
        wait_for(
            lambda: worker.status()["partitions"]["0"]["join_spilled_entries"] > 3000,
            30,
            "the join to spill",
            worker,
        )
        partition = worker.status()["partitions"]["0"]
        assert partition["join_memory_entries"] <= 1000
        assert partition["join_pending_events"] == scenario.n
        assert list((settings.home / "stream-state").iterdir())  # the RocksDB folder
        rocksdb = worker.status()["join_rocksdb_bytes"]  # its memory, once it exists
        assert set(rocksdb) == {"block_cache", "block_cache_pinned", "memtables", "table_readers"}
        assert rocksdb["memtables"] > 0 and rocksdb["block_cache"] <= 16 * 1024 * 1024
        publish(settings, topics.labels, scenario.labels)
        wait_for(lambda: labeled_count(settings) >= scenario.n, 90, "every label joined", worker)
        assert labeled_count(settings) == scenario.n
    finally:
        worker.stop()
    # The RocksDB folder left with the worker: into the partition's snapshot, nowhere else.
    left = sorted(path.name for path in (settings.home / "stream-state").iterdir())
    assert left == ["snapshots"]
    [snapshot] = (settings.home / "stream-state" / "snapshots").iterdir()
    assert (snapshot / "join").is_dir()
