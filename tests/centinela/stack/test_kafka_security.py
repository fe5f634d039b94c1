"""The secured broker's configuration, without starting it (the secured loop starts one:
tests/e2e/test_secured_kafka.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from centinela.exceptions import StackError
from centinela.stack.kafka_broker import KafkaBroker
from centinela.stack.kafka_security import BrokerSecurity, BrokerTls, ScramUser


def properties(broker: KafkaBroker) -> dict[str, str]:
    lines = broker._write_config().read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def security(tmp_path: Path) -> BrokerSecurity:
    tls = BrokerTls(tmp_path / "broker.p12", SecretStr("store-secret"), tmp_path / "ca.pem")
    return BrokerSecurity(9094, 9095, tls, (ScramUser("alice", SecretStr("alice-secret")),))


def test_a_broker_without_security_keeps_its_plaintext_listener_alone(tmp_path: Path) -> None:
    config = properties(KafkaBroker(tmp_path, 9092, 9093))
    assert config["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert config["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert config["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    assert not any(key.startswith(("sasl.", "ssl.", "listener.name.")) for key in config)


def test_a_secured_broker_adds_sasl_ssl_and_sasl_plaintext_listeners(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path, 9092, 9093, security(tmp_path))
    config = properties(broker)
    assert config["advertised.listeners"] == (
        "PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9094,SASL_PLAINTEXT://127.0.0.1:9095"
    )
    assert config["listener.security.protocol.map"] == (
        "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"
    )
    assert config["inter.broker.listener.name"] == "PLAINTEXT"
    assert config["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert config["ssl.keystore.location"] == str((tmp_path / "broker.p12").resolve())
    assert broker.listener("SASL_SSL") == "127.0.0.1:9094"
    assert broker.listener("SASL_PLAINTEXT") == "127.0.0.1:9095"
    assert broker._write_config().stat().st_mode & 0o077 == 0, "others can read the password"


def test_a_broker_names_a_listener_it_lacks(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="no SASL_SSL listener"):
        KafkaBroker(tmp_path).listener("SASL_SSL")


def test_users_are_added_when_the_storage_is_formatted(tmp_path: Path) -> None:
    assert security(tmp_path).format_arguments() == [
        "--add-scram",
        "SCRAM-SHA-512=[name=alice,password=alice-secret]",
    ]


def test_a_user_does_not_show_its_password() -> None:
    assert "alice-secret" not in repr(ScramUser("alice", SecretStr("alice-secret")))
