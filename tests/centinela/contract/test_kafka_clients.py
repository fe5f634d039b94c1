"""Every client library gets the same connection from the settings, in its own option names."""

from __future__ import annotations

from typing import Any

from centinela.contract.kafka_clients import (
    Connection,
    aiokafka_config,
    confluent_kafka_config,
    faust_broker_url,
    kafka_python_config,
)
from centinela.contract.settings import Settings


def _sasl(**extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        kafka_bootstrap_servers="a:9093,b:9093",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="alice",
        kafka_sasl_password="s3cret",
        **extra,
    )


def test_sasl_credentials_reach_every_library_unwrapped() -> None:
    settings = _sasl()
    python, aio, confluent = (
        kafka_python_config(settings),
        aiokafka_config(settings),
        confluent_kafka_config(settings),
    )
    for config in (python, aio):
        assert config["sasl_mechanism"] == "SCRAM-SHA-512"
        assert config["sasl_plain_username"] == "alice"
        assert config["sasl_plain_password"] == "s3cret"
    assert python["bootstrap_servers"] == ["a:9093", "b:9093"]
    assert aio["bootstrap_servers"] == "a:9093,b:9093"
    assert confluent["sasl.username"] == "alice" and confluent["sasl.password"] == "s3cret"
    assert faust_broker_url(settings) == "kafka://a:9093;kafka://b:9093"


def test_plaintext_has_no_credentials_or_tls_options() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    for config in (kafka_python_config(settings), aiokafka_config(settings)):
        assert not any(key.startswith(("sasl", "ssl")) for key in config)
    assert set(confluent_kafka_config(settings)) == {"bootstrap.servers", "security.protocol"}


def test_the_connection_never_shows_its_secrets() -> None:
    link = Connection.of(_sasl())
    assert "s3cret" not in repr(link) and "s3cret" not in str(link)


def test_tls_file_options_are_passed_as_paths(tmp_path: Any) -> None:
    ca = tmp_path / "ca.pem"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=ca,
    )
    assert kafka_python_config(settings)["ssl_cafile"] == str(ca)
    assert confluent_kafka_config(settings)["ssl.ca.location"] == str(ca)
    assert "ssl.key.password" not in confluent_kafka_config(settings)
