"""Stream workers as real subprocesses (``.venv/bin/centinela stream``), and topic helpers."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
import requests
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.settings import Settings
from centinela.stack.process import free_port

CENTINELA = Path(sys.executable).parent / "centinela"


class WorkerProcess:
    """One `centinela stream` process with its own web port and log file."""

    def __init__(self, settings: Settings, log_path: Path, **overrides: Any) -> None:
        self.port = free_port()
        values = {**settings.model_dump(), **overrides, "stream_web_port": self.port}
        self.settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENTINELA_")}
        env.update(self.settings.as_environment())
        with self.log_path.open("ab") as log:
            verbose = ["-v"] if os.environ.get("CENTINELA_TEST_VERBOSE") else []
            self.process = subprocess.Popen(
                [str(CENTINELA), *verbose, "stream"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url(path), timeout=5)

    def status(self) -> dict[str, Any]:
        return dict(self.get("/status").json())

    def wait_ready(self, timeout: float = 120.0) -> None:
        def ready() -> bool:
            try:
                return self.get("/ready").status_code == 200
            except requests.RequestException:
                return False

        wait_for(ready, timeout, f"worker on :{self.port} ready", self)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no goodbye, no flush, no commit."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, *workers: WorkerProcess
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for worker in workers:
            if not worker.alive():
                raise AssertionError(f"worker died waiting for {what}:\n{worker.log_tail()}")
        time.sleep(0.5)
    logs = "\n---\n".join(w.log_tail() for w in workers)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(linger_ms=5, acks="all", **kafka_python_config(settings))


def publish(
    settings: Settings,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes]],
    *,
    partition_of: Callable[[bytes], int] | None = None,
) -> int:
    sender = producer(settings)
    count = 0
    for key, value in messages:
        partition = None if partition_of is None or key is None else partition_of(key)
        sender.send(topic, value=value, key=key, partition=partition)
        count += 1
    sender.flush()
    sender.close()
    return count


def read_all(settings: Settings, topic: str, *, timeout_ms: int = 2000) -> list[Any]:
    """Every message of ``topic`` from the beginning (kafka-python records)."""
    consumer = KafkaConsumer(
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=timeout_ms,
        **kafka_python_config(settings),
    )
    partitions = consumer.partitions_for_topic(topic) or set()
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    consumer.seek_to_beginning()
    records = list(consumer)
    consumer.close()
    return records


def values(settings: Settings, topic: str) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in read_all(settings, topic)]


def count_by(items: Sequence[dict[str, Any]], field: str) -> collections.Counter[Any]:
    return collections.Counter(item[field] for item in items)
