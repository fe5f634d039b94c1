"""The loop on a secured broker: SASL_SSL (SCRAM-SHA-512, a test certificate authority) and
SASL_PLAINTEXT, every Kafka client library the project uses, wrong logins, and no password in
any log.

Over SASL_SSL: `centinela topics create` (kafka-python admin), `centinela bootstrap`, the
producer (confluent-kafka), the stream worker (aiokafka hot path, Faust's consumer and
producer), `centinela retrain request` and the retrain worker (kafka-python), `centinela models`
(kafka-python) and the topics read back (kafka-python). The hot swap after the promotion can
only come through Faust's ``model-events`` agent: the worker's MLflow poll is an hour apart.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from centinela.contract.kafka_clients import aiokafka_config
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.models.registry import alias_version
from centinela.stack.mlflow_server import MlflowServer
from centinela.stack.process import free_port
from tests.conftest import SecuredKafka
from tests.e2e.log_scan import assert_no_secret, files_under
from tests.e2e.processes import (
    Service,
    attempt_command,
    champion_version,
    http_ok,
    run_command,
    wait_for,
)
from tests.e2e.topic_reader import Seen

pytestmark = pytest.mark.e2e

EVENTS = 3_000
AFTER_PROMOTION_EVENTS = 500
# A refused login must stop a command this fast (the probe of the refusal takes 10 s at most).
REFUSAL_SECONDS = 60.0


def test_loop_over_sasl_ssl(
    make_secured_settings: Callable[..., Settings],
    secured_kafka: SecuredKafka,
    mlflow_server: MlflowServer,
    tmp_path: Path,
) -> None:
    run = uuid.uuid4().hex[:6]
    settings = make_secured_settings(
        "SASL_SSL",
        mlflow_tracking_uri=mlflow_server.tracking_uri,
        model_name=f"secured-{run}",
        monitoring_experiment=f"secured-monitoring-{run}",
        training_experiment=f"secured-training-{run}",
        stream_app_id=f"secured-stream-{run}",
        retrain_group_id=f"secured-retrain-{run}",
        stream_web_port=free_port(),
        champion_poll_seconds=3600.0,
        retrain_target_rows=1_000,
        retrain_wait_seconds=60.0,
    )
    logs = tmp_path / "logs"
    logs.mkdir()

    def cli(name: str, *args: str) -> str:
        return run_command(settings, *args, log=logs / f"{name}.log")

    assert "created" in cli("topics", "topics", "create")
    cli("bootstrap", "bootstrap", "--scenario", "stable", "--rows", "3000")
    champion = alias_version(settings, "champion")
    assert champion is not None

    services = [
        Service(settings, logs / "stream.log", "stream"),
        Service(settings, logs / "retrain.log", "retrain"),
    ]
    seen = Seen(settings)
    try:
        ready = f"http://127.0.0.1:{settings.stream_web_port}/ready"
        wait_for(lambda: http_ok(ready), 180, "the stream worker to be ready", services)
        cli("produce", "produce", "--scenario", "stable", "--events", str(EVENTS), "--rate", "0",
            "--seed", "5", "--no-progress", "--epoch", "2026-01-01T00:00:00Z")  # fmt: skip
        wait_for(lambda: seen.refresh().all_scored(), 180, "every event to be scored", services)

        cli("request", "retrain", "request", "--from", "2026-01-01T00:00:00Z",
            "--until", "2026-01-02T00:00:00Z", "--reason", "secured loop")  # fmt: skip
        wait_for(lambda: bool(seen.refresh().registered()), 300, "a challenger", services)
        (registered,) = seen.registered()
        challenger = alias_version(settings, "challenger")
        assert challenger == registered.version and challenger != champion
        assert f"v{challenger}" in cli("status", "models", "status")

        cli("promote", "models", "promote", "--reason", "secured loop: reviewed")
        assert alias_version(settings, "champion") == challenger
        status = f"http://127.0.0.1:{settings.stream_web_port}/status"
        wait_for(lambda: champion_version(status) == challenger, 60, "the hot swap", services)
        before_promotion = set(seen.feature_ids)

        cli("produce-after", "produce", "--scenario", "stable", "--events",
            str(AFTER_PROMOTION_EVENTS), "--rate", "0", "--seed", "6", "--no-progress",
            "--epoch", "2026-01-02T00:00:00Z")  # fmt: skip
        wait_for(seen.all_scored, 120, "the events after promotion to be scored", services)
    finally:
        for service in services:
            service.stop()
        seen.reader.close()

    after_promotion = set(seen.feature_ids) - before_promotion
    assert len(after_promotion) == AFTER_PROMOTION_EVENTS
    versions_after = {p.model_version for p in seen.predictions if p.event_id in after_promotion}
    assert versions_after == {challenger}
    assert any(e.event_type == "promoted" for e in seen.model_events)

    every_log = [
        *files_under(logs),
        secured_kafka.broker.process.log_file,
        mlflow_server.process.log_file,
    ]
    scanned = assert_no_secret(every_log, secured_kafka.secrets())
    assert scanned > 10_000, f"only {scanned} bytes of logs: the processes did not log"


def test_clients_over_sasl_plaintext(
    make_secured_settings: Callable[..., Settings], secured_kafka: SecuredKafka, tmp_path: Path
) -> None:
    """kafka-python (topics), confluent-kafka (producer) and aiokafka (reading back)."""
    settings = make_secured_settings("SASL_PLAINTEXT")
    log = tmp_path / "commands.log"
    run_command(settings, "topics", "create", log=log)
    run_command(settings, "produce", "--scenario", "stable", "--events", "200", "--rate", "0",
                "--no-labels", "--no-progress", log=log)  # fmt: skip

    assert asyncio.run(_count(settings, Topics.from_settings(settings).features)) == 200
    assert_no_secret([log, secured_kafka.broker.process.log_file], secured_kafka.secrets())


async def _count(settings: Settings, topic: str) -> int:
    consumer = AIOKafkaConsumer(
        topic, auto_offset_reset="earliest", enable_auto_commit=False, **aiokafka_config(settings)
    )
    await consumer.start()
    try:
        counted = 0
        while batches := await consumer.getmany(timeout_ms=2000):
            counted += sum(len(records) for records in batches.values())
        return counted
    finally:
        await consumer.stop()


@pytest.mark.parametrize(
    "command",
    [
        ("topics", "create"),
        ("stream",),
        ("retrain",),
        ("produce", "--scenario", "stable", "--events", "10", "--no-progress"),
    ],
    ids=lambda command: command[0],
)
def test_wrong_password_names_the_setting(
    make_secured_settings: Callable[..., Settings],
    secured_kafka: SecuredKafka,
    tmp_path: Path,
    command: tuple[str, ...],
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    settings = make_secured_settings(
        "SASL_SSL",
        kafka_sasl_password=wrong,
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        stream_web_port=free_port(),
    )
    log = tmp_path / "command.log"
    started = time.monotonic()
    result = attempt_command(settings, *command, timeout=REFUSAL_SECONDS * 2, log=log)
    took = time.monotonic() - started

    assert result.returncode == 2, f"exit {result.returncode}:\n{log.read_text()[-3000:]}"
    assert "refused the login" in result.stderr, result.stderr[-3000:]
    assert "CENTINELA_KAFKA_SASL_PASSWORD" in result.stderr, result.stderr[-3000:]
    assert took < REFUSAL_SECONDS, f"the refusal took {took:.0f} s"
    assert_no_secret([log], [wrong, *secured_kafka.secrets()])


def test_untrusted_certificate_names_the_ca_setting(
    make_secured_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """Without the test authority's CA file, the broker's certificate is not trusted."""
    settings = make_secured_settings("SASL_SSL", kafka_ssl_cafile=None)
    result = attempt_command(settings, "topics", "create", timeout=REFUSAL_SECONDS * 2)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "CENTINELA_KAFKA_SSL_CAFILE" in result.stderr, result.stderr[-3000:]
