"""Shared setup of the stream benchmarks: a broker, a 20-feature champion, a worker process,
bulk event production and reading predictions back.

Broker: ``CENTINELA_KAFKA_BOOTSTRAP_SERVERS`` if set, else a jar broker started in a temp folder
on free ports (stopped at the end). MLflow: a SQLite store in a temp folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests
from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition

from centinela.contract.codec import feature_values, label_values, time_texts
from centinela.contract.kafka_clients import aiokafka_config, kafka_python_config
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.models.profile import ReferenceProfile
from centinela.models.publishing import fit_and_profile, train_and_register
from centinela.models.registry import RegisteredModel
from centinela.stack.kafka_broker import KafkaBroker
from centinela.stack.mlflow_server import MlflowServer
from centinela.stack.process import free_port
from stream.internal_topics import ensure_stream_topics

ROOT = Path(__file__).resolve().parents[1]
CENTINELA = Path(sys.executable).parent / "centinela"
N_FEATURES = 20
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def broker(home: Path) -> Iterator[str]:
    given = os.environ.get("CENTINELA_KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield given
        return
    local = KafkaBroker(home / "kafka", free_port(), free_port())
    local.start()
    try:
        yield local.bootstrap_servers
    finally:
        local.stop()


def mlflow_server(home: Path, stack: ExitStack) -> str:
    """The tracking URI of an `mlflow server` (the worker's default setup), stopped by ``stack``."""
    server = MlflowServer(home / "mlflow-server", free_port())
    server.start()
    stack.callback(server.stop)
    return server.tracking_uri


def with_tracking(settings: Settings, home: Path, stack: ExitStack, *, sqlite: bool) -> Settings:
    """``settings`` on an `mlflow server` (the worker's default), or as they are (a SQLite
    store in the worker) when ``sqlite``."""
    if sqlite:
        return settings
    return settings.model_copy(update={"mlflow_tracking_uri": mlflow_server(home, stack)})


def bench_settings(bootstrap: str, home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "topic_prefix": f"bench{uuid.uuid4().hex[:6]}.",
        "mlflow_tracking_uri": f"sqlite:///{home / 'mlflow.db'}",
        "home": home / ".centinela",
        "topic_partitions": 4,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({f"f{i}": rng.normal(0.0, 1.0, n) for i in range(N_FEATURES)})


def truth(data: pd.DataFrame) -> np.ndarray:
    return (data["f0"] + data["f1"] - data["f2"] > 0).astype(int).to_numpy()


def bench_data() -> tuple[pd.DataFrame, np.ndarray]:
    """The benches' 5,000 training rows and their labels."""
    data = frame(5000, seed=0)
    return data, truth(data)


def bench_model() -> tuple[Any, ReferenceProfile, pd.DataFrame, np.ndarray]:
    """The benches' 20-feature logistic regression, its profile, training rows and labels."""
    data, labels = bench_data()
    trained = fit_and_profile("logistic_regression", {}, data, labels)
    return trained.model, trained.profile, data, labels


def register_champion(settings: Settings, *, alias: str = "champion") -> RegisteredModel:
    """A 20-feature logistic regression registered as champion (or under ``alias``: a
    challenger, which the worker then scores in the shadow)."""
    data, labels = bench_data()
    return train_and_register(
        settings,
        "logistic_regression",
        {} if alias == "champion" else {"C": 0.5},
        data,
        labels,
        tags={"centinela.bench": "stream"},
        run_name=f"bench-{alias}",
        alias=alias,
    )


def encoded_events(
    n: int, *, start: int = 0, rate: float = 1000.0, label_delay: float | None = None, seed: int = 1
) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """Keys, feature values and (if ``label_delay``) label values, scenario clock at ``rate``."""
    data = frame(n, seed=seed)
    ids = [f"b-{start + i}" for i in range(n)]
    keys = [i.encode() for i in ids]
    quoted = [f'"{i}"'.encode() for i in ids]
    offsets = ((start + np.arange(n)) * (1e6 / rate)).astype(np.int64)
    moments = np.datetime64(EPOCH.replace(tzinfo=None), "us") + offsets.astype("timedelta64[us]")
    columns = {name: data[name].to_numpy() for name in data.columns}
    values = feature_values(quoted, time_texts(moments), columns, tuple(data.columns))
    labels: list[bytes] = []
    if label_delay is not None:
        later = moments + np.timedelta64(int(label_delay * 1e6), "us")
        labels = label_values(quoted, truth(data).tolist(), time_texts(later))
    return keys, values, labels


async def produce(settings: Settings, topic: str, keys: list[bytes], values: list[bytes]) -> None:
    producer = AIOKafkaProducer(linger_ms=5, max_batch_size=512 * 1024, **aiokafka_config(settings))
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, key=key)
            for key, value in zip(keys, values, strict=True)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def prepare(settings: Settings) -> None:
    ensure_stream_topics(settings)


def message_times(settings: Settings, topic: str, expected: int, timeout: float) -> list[int]:
    """Kafka timestamps (ms) of the first ``expected`` messages of ``topic`` (waits for them)."""
    consumer = KafkaConsumer(
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        **kafka_python_config(settings),
    )
    try:
        tps = [KafkaTopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        stamps: list[int] = []
        deadline = time.monotonic() + timeout
        while len(stamps) < expected and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=500, max_records=50_000).values():
                stamps.extend(m.timestamp for m in messages)
        return stamps
    finally:
        consumer.close()


class Worker:
    """One `centinela stream` subprocess."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.port = free_port()
        self.settings = settings.model_copy(update={"stream_web_port": self.port})
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENTINELA_")}
        env.update(self.settings.as_environment())
        self.log = log_path.open("ab")
        # BENCH_WORKER_WRAP runs the worker under a profiler, e.g. "memray run -o x.bin".
        wrap = shlex.split(os.environ.get("BENCH_WORKER_WRAP", ""))
        self.process = subprocess.Popen(
            [*wrap, str(CENTINELA), "stream"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited; see {self.log.name}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/ready", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError("the worker did not become ready")

    def status(self) -> dict[str, Any]:
        return dict(requests.get(f"http://127.0.0.1:{self.port}/status", timeout=5).json())

    def metrics(self) -> str:
        return requests.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text

    def scored(self) -> float:
        """Events scored so far, from the worker's /metrics."""
        for line in self.metrics().splitlines():
            if line.startswith('centinela_events_total{outcome="scored"}'):
                return float(line.split()[-1])
        return 0.0

    def wait_scored(self, n: int, timeout: float) -> None:
        """Until ``n`` events are scored, asking twice a second (cheap, unlike reading the
        predictions while the worker runs, which would compete with it for the CPU)."""
        deadline = time.monotonic() + timeout
        scored = 0.0
        while scored < n:
            # A worker saturated for half an hour may answer one poll late: ask again.
            with contextlib.suppress(requests.RequestException):
                scored = self.scored()
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {scored:.0f} of {n} events scored in {timeout}s")
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited; see {self.log.name}")
            time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill: no snapshot, no flush, no commit."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
        keep = os.environ.get("BENCH_KEEP_LOGS")  # a folder: the worker's log outlives the run
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(self.log.name, Path(keep) / f"{Path(self.log.name).stem}-{self.port}.log")


def topics(settings: Settings) -> Topics:
    return Topics.from_settings(settings)
