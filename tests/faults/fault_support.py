"""What the fault tests share: a broker of their own, topic sizes, and the window checks."""

from __future__ import annotations

import math
import os
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.settings import Settings
from centinela.stack.kafka_broker import KafkaBroker
from centinela.stack.process import free_port
from tests.conftest import running
from tests.stream.stream_data import T0
from tests.stream.stream_scenario import Scenario


@contextmanager
def own_broker(home: Path) -> Iterator[KafkaBroker]:
    """A jar broker for one test alone, so that killing it disturbs no other test."""
    broker = KafkaBroker(home, free_port(), free_port())
    yield from running(broker, "the test's own Kafka broker did not start")


def kill_broker(broker: KafkaBroker, timeout: float = 30.0) -> int:
    """SIGKILL the broker's process group (no shutdown, no flush); return the pid it had."""
    pid = broker.process.pid()
    assert pid is not None, "the broker is not running"
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while broker.running():
        assert time.monotonic() < deadline, f"the broker (pid {pid}) outlived its SIGKILL"
        time.sleep(0.1)
    return pid


def settings_on(bootstrap: str, home: Path, **overrides: Any) -> Settings:
    """Settings on a given broker with a topic prefix of their own (as `make_settings`)."""
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "topic_prefix": f"t{uuid.uuid4().hex[:8]}.",
        "topic_partitions": 2,
        "home": home / ".centinela",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def topic_size(settings: Settings, topic: str) -> int:
    """How many records ``topic`` holds (the sum of its end offsets): cheap to poll."""
    consumer = KafkaConsumer(**kafka_python_config(settings))
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        return sum(consumer.end_offsets(tps).values()) if tps else 0
    finally:
        consumer.close()


def by_window(reports: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Every copy of each (model version, window) report, in topic order."""
    seen: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for report in reports:
        seen[(report["model_version"], report["window_id"])].append(report)
    return seen


def recent_scenario(n: int, spacing: float, **options: Any) -> Scenario:
    """A scenario whose event times end about now.

    ``labeled`` records carry their event time as their Kafka timestamp, and the topic keeps
    the broker's 7-day retention: records dated at the fixed test epoch (months ago) are
    deleted at the broker's first retention check, 30 s after it starts, then every 5 minutes.
    A test that outlives a broker start must date its events recently."""
    start = int((datetime.now(UTC) - T0).total_seconds() / spacing) - n
    return Scenario(n=n, spacing=spacing, start=start, **options)


def events_per_window(scenario: Scenario, window_seconds: float) -> Counter[int]:
    """How many of the scenario's events each window holds (``floor(t / window)``)."""
    return Counter(
        math.floor(scenario.time(i).timestamp() / window_seconds) for i in range(scenario.n)
    )


def windows_covered(reports: list[dict[str, Any]], expected: Counter[int]) -> bool:
    """Whether every window that should hold events has been reported."""
    return set(expected) <= {r["window_id"] for r in reports}


def assert_windows_exact(reports: list[dict[str, Any]], expected: Counter[int]) -> None:
    """Each window reported once, or again identically, counting exactly its events."""
    windows = by_window(reports)
    for key, copies in windows.items():
        first = {k: v for k, v in copies[0].items() if k != "created_at"}
        for again in copies[1:]:
            assert {k: v for k, v in again.items() if k != "created_at"} == first, key
    counted = Counter({w: copies[0]["n_events"] for (_, w), copies in windows.items()})
    wrong = {
        w: (counted[w], expected[w])
        for w in set(counted) | set(expected)
        if counted[w] != expected[w]
    }
    assert not wrong, f"windows counting other than their events (reported, expected): {wrong}"


def wait_for_every_window(
    settings: Settings, scenario: Scenario, worker: Any, *, prediction_timeout: float
) -> Counter[int]:
    """Wait until every event of ``scenario`` has a prediction and every window is reported,
    then a moment more (a late duplicate report would show); returns the events per window."""
    from tests.stream.test_worker_integration import predictions, reports
    from tests.stream.worker_process import wait_for

    wait_for(
        lambda: {p["event_id"] for p in predictions(settings)} >= scenario.ids(),
        prediction_timeout,
        "a prediction for every event",
        worker,
    )
    expected = events_per_window(scenario, settings.window_seconds)
    wait_for(
        lambda: windows_covered(reports(settings), expected),
        120,
        "every window reported",
        worker,
    )
    time.sleep(2)
    return expected
