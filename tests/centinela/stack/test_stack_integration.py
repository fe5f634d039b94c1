"""`centinela up` / `down` / `status` start and stop a real local stack, idempotently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from centinela.stack.kafka_broker import kafka_version
from centinela.stack.process import free_port

pytestmark = pytest.mark.integration


def _centinela(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "centinela.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_up_twice_then_down(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CENTINELA_HOME": str(tmp_path / "stack"),
        "CENTINELA_LOCAL_KAFKA_PORT": str(kafka_port := free_port()),
        "CENTINELA_LOCAL_KAFKA_CONTROLLER_PORT": str(free_port()),
        "CENTINELA_LOCAL_MLFLOW_PORT": str(free_port()),
        "CENTINELA_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
        "CENTINELA_TOPIC_PREFIX": "stacktest.",
    }
    try:
        first = _centinela(env, "up")
        assert first.returncode == 0, first.stderr
        assert f"Kafka {kafka_version()}" in first.stdout
        assert f"listening at 127.0.0.1:{kafka_port}" in first.stdout
        broker_pid = (tmp_path / "stack" / "kafka" / "kafka.pid").read_text()

        second = _centinela(env, "up")
        assert second.returncode == 0, second.stderr
        assert second.stdout.count("already running") == 2
        assert (tmp_path / "stack" / "kafka" / "kafka.pid").read_text() == broker_pid

        topics = _centinela(env, "topics", "create")
        assert topics.returncode == 0, topics.stderr
        assert "created  stacktest.features" in topics.stdout
        assert _centinela(env, "status").returncode == 0
    finally:
        down = _centinela(env, "down")
    assert down.returncode == 0
    assert "stopped" in down.stdout
    status = _centinela(env, "status")
    assert status.returncode == 1 and status.stdout.count("not running") == 2


def test_a_taken_port_is_reported_without_a_traceback(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {
            **os.environ,
            "CENTINELA_HOME": str(tmp_path / "stack"),
            "CENTINELA_LOCAL_KAFKA_PORT": str(taken.getsockname()[1]),
            "CENTINELA_LOCAL_KAFKA_CONTROLLER_PORT": str(free_port()),
        }
        result = _centinela(env, "up")
    assert result.returncode == 2
    assert "already taken" in result.stderr and "Traceback" not in result.stderr
