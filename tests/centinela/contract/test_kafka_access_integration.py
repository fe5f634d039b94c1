"""What the secured test broker refuses, named by setting (centinela/contract/kafka_access.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from centinela.contract.kafka_access import refusal, unreachable
from centinela.contract.settings import Settings
from centinela.exceptions import BrokerUnavailableError, KafkaAccessError
from centinela.stack.process import free_port
from tests.conftest import SecuredKafka


def test_a_working_login_is_no_refusal(make_secured_settings: Callable[..., Settings]) -> None:
    assert refusal(make_secured_settings("SASL_SSL")) is None
    assert refusal(make_secured_settings("SASL_PLAINTEXT")) is None


@pytest.mark.parametrize(
    ("protocol", "listener", "overrides", "named"),
    [
        ("SASL_SSL", "SASL_SSL", {"kafka_sasl_password": "wrong"}, "CENTINELA_KAFKA_SASL_PASSWORD"),
        (
            "SASL_PLAINTEXT",
            "SASL_PLAINTEXT",
            {"kafka_sasl_username": "nobody"},
            "CENTINELA_KAFKA_SASL_USERNAME",
        ),
        (
            "SASL_SSL",
            "SASL_SSL",
            {"kafka_sasl_mechanism": "SCRAM-SHA-256"},
            "CENTINELA_KAFKA_SASL_MECHANISM=SCRAM-SHA-256",
        ),
        ("SASL_SSL", "SASL_SSL", {"kafka_ssl_cafile": None}, "CENTINELA_KAFKA_SSL_CAFILE"),
        ("SASL_SSL", "SASL_PLAINTEXT", {}, "CENTINELA_KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        ("SASL_PLAINTEXT", "SASL_SSL", {}, "CENTINELA_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"),
        ("SASL_PLAINTEXT", "PLAINTEXT", {}, "CENTINELA_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"),
    ],
    ids=["password", "user", "mechanism", "ca-file", "tls-to-plain", "plain-to-tls", "no-sasl"],
)
def test_a_refusal_names_the_setting_to_fix(
    make_secured_settings: Callable[..., Settings],
    secured_kafka: SecuredKafka,
    protocol: str,
    listener: str,
    overrides: dict[str, Any],
    named: str,
) -> None:
    server = secured_kafka.broker.listener(listener)
    settings = make_secured_settings(protocol, kafka_bootstrap_servers=server, **overrides)
    error = unreachable(settings, "the client's own words")
    assert isinstance(error, KafkaAccessError)
    assert named in str(error) and server in str(error)
    assert not any(secret in str(error) for secret in secured_kafka.secrets())


def test_no_broker_at_all_is_no_refusal(make_secured_settings: Callable[..., Settings]) -> None:
    settings = make_secured_settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    error = unreachable(settings, "connection refused")
    assert type(error) is BrokerUnavailableError
    assert "no Kafka broker answers" in str(error)
