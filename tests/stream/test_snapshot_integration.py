"""State snapshots with real workers on the real broker: a worker stopped by SIGTERM leaves
snapshots, the next one loads them and replays only the changelog after them; an older
snapshot followed by another worker's groups gives the same results, and so does a running
worker's periodic snapshot after it is SIGKILLed. Whatever the way the
state came back, every event is windowed once, every label joined once, and an id already
scored is refused: what a full replay gives."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer

from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from stream.internal_topics import InternalTopics, ensure_stream_topics, group_base
from stream.snapshot import SnapshotPlace
from tests.stream.stream_scenario import Scenario, register_champion
from tests.stream.test_worker_integration import predictions, reports, windowed_events
from tests.stream.worker_process import WorkerProcess, publish, values, wait_for

pytestmark = pytest.mark.integration

RESTORED = re.compile(
    r"partition (\d): state restored from a snapshot and the changelog's tail from offset "
    r"(\d+) in [\d.]+s \((\d+) changelog groups"
)


@pytest.fixture
def settings(make_settings: Callable[..., Settings], mlflow_store: str) -> Settings:
    return make_settings(
        mlflow_tracking_uri=mlflow_store,
        window_seconds=2.0,
        allowed_lateness_seconds=2.0,
        join_ttl_seconds=3600.0,  # nothing leaves the join during the test
        join_memory_entries=1000,  # but most of it goes to disk
        batch_wait_ms=20,
        champion_poll_seconds=2.0,
        stream_app_id="snapshot-test",
    )


def restored_from_snapshots(log: Path) -> dict[int, tuple[int, int]]:
    """Per partition, the changelog offset its tail replay began at and the groups in it."""
    found = RESTORED.findall(log.read_text(errors="replace"))
    return {int(p): (int(offset), int(groups)) for p, offset, groups in found}


def restored_of(worker: WorkerProcess) -> dict[int, tuple[int, int]]:
    """Once both partitions are restored (/ready does not wait for restores that work)."""
    wait_for(lambda: len(restored_from_snapshots(worker.log_path)) == 2, 60, "restores", worker)
    return restored_from_snapshots(worker.log_path)


def labeled(settings: Settings) -> list[str]:
    return [v["event_id"] for v in values(settings, Topics.from_settings(settings).labeled)]


def refused(settings: Settings) -> list[str]:
    letters = values(settings, Topics.from_settings(settings).dead_letter)
    return [d["key"] for d in letters if d["reason"] == "duplicate_event_id"]


def part_c_and_copies(
    settings: Settings,
    worker: WorkerProcess,
    parts: tuple[Scenario, Scenario, Scenario],
    expected: set[str],
) -> None:
    """The last step of a three-part run: part C, copies of 20 more of A's events and of 40
    of B's; returns once the copies are refused, every label joined, every event windowed."""
    a, b, c = parts
    topics = Topics.from_settings(settings)
    publish(settings, topics.features, c.features + a.features[40:60] + b.features[:40])
    publish(settings, topics.labels, c.labels)
    wait_for(lambda: len(refused(settings)) >= 100, 90, "the copies refused", worker)
    wait_for(lambda: len(labeled(settings)) >= len(expected), 60, "every label", worker)
    wait_for(lambda: windowed_events(settings) >= 7000, 90, "every window", worker)


def each_once(
    settings: Settings, parts: tuple[Scenario, Scenario, Scenario], expected: set[str]
) -> None:
    """Every event of a three-part run scored once, exactly its copies (A's first 60, B's
    first 40) refused, every label joined once."""
    a, b, _ = parts
    scored = [p["event_id"] for p in predictions(settings)]
    assert len(scored) == len(set(scored)) == 7000  # each event once, no copy scored
    assert sorted(refused(settings)) == sorted(
        key.decode() for key, _ in a.features[:60] + b.features[:40]
    )
    joined = labeled(settings)
    assert len(joined) == len(set(joined)) and set(joined) == expected


def test_a_restart_resumes_from_snapshots_with_the_results_of_a_full_replay(
    settings: Settings, tmp_path: Path
) -> None:
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    place = SnapshotPlace(settings, InternalTopics.from_settings(settings).changelog)
    # Event times 0-30 s, 35-65 s, 70-80 s: a worker idle at the end of a part closes the
    # windows its events and labels reached, and the next part's events must not be late.
    # B's labels come 6 s before their events, so that the early ones stay within A's time.
    a = Scenario(n=3000, spacing=0.01, label_share=0.5)
    b = Scenario(n=3000, spacing=0.01, label_share=0.5, start=3500, delay=-6.0)
    c = Scenario(n=1000, spacing=0.01, label_share=0.5, start=7000)
    a_now, a_later = a.labels[: len(a.labels) // 2], a.labels[len(a.labels) // 2 :]
    b_early, b_rest = b.labels[:200], b.labels[200:]  # b_early wait for their events
    expected = {key.decode() for key, _ in a.labels + b.labels + c.labels}

    # 1. A worker scores part A, half of its labels and labels of part B; SIGTERM.
    publish(settings, topics.features, a.features)
    publish(settings, topics.labels, a_now + b_early)
    first = WorkerProcess(settings, tmp_path / "first.log").start()
    try:
        first.wait_ready()
        wait_for(lambda: len(predictions(settings)) >= a.n, 90, "part A scored", first)
        wait_for(lambda: len(labeled(settings)) >= len(a_now), 60, "A's labels joined", first)
    finally:
        first.stop()
    assert "state snapshot at changelog offset" in (tmp_path / "first.log").read_text()
    kept = tmp_path / "kept"
    shutil.copytree(place.root, kept)  # for step 3: snapshots older than the changelog

    # 2. The next worker takes the snapshots and replays an empty tail; part B, the rest of
    # A's labels and copies of A's events come.
    second = WorkerProcess(settings, tmp_path / "second.log").start()
    try:
        second.wait_ready()
        restored = restored_of(second)
        assert sorted(restored) == [0, 1] and all(n == 0 for _, n in restored.values())
        publish(settings, topics.features, b.features + a.features[:40])
        publish(settings, topics.labels, a_later + b_rest)
        wait_for(lambda: len(refused(settings)) >= 40, 90, "A's copies refused", second)
        wait_for(lambda: len(predictions(settings)) >= a.n + b.n, 90, "part B scored", second)
        wait_for(
            lambda: len(labeled(settings)) >= len(a.labels) + len(b.labels),
            60,
            "A's and B's labels joined",
            second,
        )
    finally:
        second.stop()

    # 3. A worker given the snapshots of step 1 replays the groups the second logged after
    # them; part C and copies of A's and B's events come.
    shutil.rmtree(place.root)
    shutil.copytree(kept, place.root)
    third = WorkerProcess(settings, tmp_path / "third.log").start()
    try:
        third.wait_ready()
        tails = restored_of(third)
        assert sorted(tails) == [0, 1] and all(n > 0 for _, n in tails.values())
        assert all(tails[p][0] == restored[p][0] for p in (0, 1))  # from step 1's offsets
        part_c_and_copies(settings, third, (a, b, c), expected)
    finally:
        third.stop()

    each_once(settings, (a, b, c), expected)
    drift = reports(settings)
    assert sum(r["n_events"] for r in drift) == 7000  # windowed once, across three workers
    windows = [r["window_id"] for r in drift]
    assert len(windows) == len(set(windows))


def test_a_rebalance_hands_partitions_over_through_snapshots(
    settings: Settings, tmp_path: Path
) -> None:
    """A second worker joins: the first revokes its partitions, leaving a snapshot of each
    (after every batch it processed is delivered and committed), and each partition's next
    owner resumes from it with an empty tail, with the results one worker would give."""
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    a = Scenario(n=3000, spacing=0.01, label_share=0.5)
    b = Scenario(n=3000, spacing=0.01, label_share=0.5, start=3500)
    a_now, a_later = a.labels[: len(a.labels) // 2], a.labels[len(a.labels) // 2 :]
    expected = {key.decode() for key, _ in a.labels + b.labels}

    publish(settings, topics.features, a.features)
    publish(settings, topics.labels, a_now)
    first = WorkerProcess(settings, tmp_path / "first.log").start()
    second = WorkerProcess(settings, tmp_path / "second.log")
    try:
        first.wait_ready()
        wait_for(lambda: len(predictions(settings)) >= a.n, 90, "part A scored", first)
        wait_for(lambda: len(labeled(settings)) >= len(a_now), 60, "A's labels joined", first)
        assert restored_from_snapshots(first.log_path) == {}  # it began on empty state
        second.start()
        second.wait_ready()

        def handed_over() -> bool:
            owners = [restored_from_snapshots(w.log_path) for w in (first, second)]
            return sorted([*owners[0], *owners[1]]) == [0, 1]

        wait_for(handed_over, 90, "both partitions resumed from snapshots", first, second)
        assert "state snapshot at changelog offset" in first.log_path.read_text()
        owners = {
            **restored_from_snapshots(first.log_path),
            **restored_from_snapshots(second.log_path),
        }
        assert all(groups == 0 for _, groups in owners.values())  # nothing logged since
        assert restored_from_snapshots(second.log_path)  # the newcomer got one of them
        publish(settings, topics.features, b.features + a.features[:50])
        publish(settings, topics.labels, a_later + b.labels)
        wait_for(lambda: len(refused(settings)) >= 50, 90, "A's copies refused", first, second)
        wait_for(lambda: len(predictions(settings)) >= a.n + b.n, 90, "part B", first, second)
        wait_for(lambda: len(labeled(settings)) >= len(expected), 60, "every label", first, second)
        wait_for(lambda: windowed_events(settings) >= a.n + b.n, 90, "every window", first, second)
    finally:
        first.stop()
        second.stop()

    scored = [p["event_id"] for p in predictions(settings)]
    assert len(scored) == len(set(scored)) == a.n + b.n
    assert sorted(refused(settings)) == sorted(key.decode() for key, _ in a.features[:50])
    joined = labeled(settings)
    assert len(joined) == len(set(joined)) and set(joined) == expected
    drift = reports(settings)
    assert sum(r["n_events"] for r in drift) == a.n + b.n
    windows = [r["window_id"] for r in drift]
    assert len(windows) == len(set(windows))


SNAPSHOT_AT = re.compile(r"partition (\d): state snapshot at changelog offset (\d+)")


def snapshot_offsets(log: Path) -> dict[int, int]:
    """Per partition, the changelog offset of the last snapshot the worker wrote."""
    return {int(p): int(o) for p, o in SNAPSHOT_AT.findall(log.read_text(errors="replace"))}


def whole_round_since(log: Path, mark: int) -> bool:
    """Whether the worker logged, past the log's first ``mark`` bytes, a snapshot of partition
    0 and then one of partition 1: a periodic round (one partition at a time, in order) that
    began after the mark and is over."""
    text = log.read_bytes()[mark:].decode(errors="replace")
    partitions = [int(p) for p, _ in SNAPSHOT_AT.findall(text)]
    return 0 in partitions and 1 in partitions[partitions.index(0) :]


def all_committed(settings: Settings) -> bool:
    """Whether the scoring group has committed the end of the features and labels topics:
    every batch is then delivered and logged, so a crash repeats no output."""
    topics = Topics.from_settings(settings)
    group = f"{group_base(settings)}-scoring"
    admin = KafkaAdminClient(**kafka_python_config(settings))
    consumer = KafkaConsumer(**kafka_python_config(settings))
    try:
        committed = admin.list_consumer_group_offsets(group)
        inputs = [tp for tp in committed if tp.topic in (topics.features, topics.labels)]
        ends = consumer.end_offsets(inputs)
        return len(inputs) == 4 and all(committed[tp].offset == ends[tp] for tp in inputs)
    finally:
        admin.close()
        consumer.close()


def test_after_a_crash_the_next_worker_resumes_from_the_last_periodic_snapshot(
    settings: Settings, tmp_path: Path
) -> None:
    """A worker snapshots its partitions every interval while it runs. SIGKILLed after it
    logged more groups, it leaves no snapshot of its own: the next worker loads the last
    periodic one, replays the groups logged after it, and gives the results of a full
    replay."""
    settings = settings.model_copy(update={"state_snapshot_interval_seconds": 20.0})
    register_champion(settings, seed=0)
    ensure_stream_topics(settings)
    topics = Topics.from_settings(settings)
    a = Scenario(n=3000, spacing=0.01, label_share=0.5)
    b = Scenario(n=3000, spacing=0.01, label_share=0.5, start=3500)
    c = Scenario(n=1000, spacing=0.01, label_share=0.5, start=7000)
    a_now, a_later = a.labels[: len(a.labels) // 2], a.labels[len(a.labels) // 2 :]
    expected = {key.decode() for key, _ in a.labels + b.labels + c.labels}

    # 1. Part A and half its labels, then the first periodic snapshot (20 s after the start).
    publish(settings, topics.features, a.features)
    publish(settings, topics.labels, a_now)
    first = WorkerProcess(settings, tmp_path / "first.log").start()
    try:
        first.wait_ready()
        wait_for(lambda: len(labeled(settings)) >= len(a_now), 90, "A's labels joined", first)
        # A round snapshots one partition at a time: wait for a round begun after A, whole.
        mark = first.log_path.stat().st_size
        wait_for(lambda: whole_round_since(first.log_path, mark), 60, "a round", first)
        periodic = snapshot_offsets(first.log_path)
        # 2. Part B, the rest of A's labels and copies of A's events, all delivered and
        # committed; then SIGKILL, long before the next snapshot is due.
        publish(settings, topics.features, b.features + a.features[:40])
        publish(settings, topics.labels, a_later + b.labels)
        wait_for(lambda: len(refused(settings)) >= 40, 60, "A's copies refused", first)
        wait_for(lambda: len(labeled(settings)) >= len(a.labels) + len(b.labels), 60, "B", first)
        wait_for(lambda: all_committed(settings), 30, "the inputs committed", first)
        assert snapshot_offsets(first.log_path) == periodic  # none since
    finally:
        first.kill()

    # 3. The next worker: the periodic snapshots and the groups logged after them.
    second = WorkerProcess(settings, tmp_path / "second.log").start()
    try:
        second.wait_ready()
        tails = restored_of(second)
        assert {p: offset for p, (offset, _) in tails.items()} == periodic
        assert all(groups > 0 for _, groups in tails.values())
        part_c_and_copies(settings, second, (a, b, c), expected)
    finally:
        second.stop()

    each_once(settings, (a, b, c), expected)
    windows: dict[int, set[int]] = {}
    for report in reports(settings):  # a crash may report a window again, identically
        windows.setdefault(report["window_id"], set()).add(report["n_events"])
    assert all(len(counts) == 1 for counts in windows.values())
    assert sum(counts.pop() for counts in windows.values()) == 7000  # windowed once
