"""Kafka client configuration built from settings, for kafka-python, aiokafka and Faust.

Credentials come from :class:`~centinela.contract.settings.Settings` as secrets and are only
unwrapped here, at the moment a client is built; they are never logged.
"""

from __future__ import annotations

import ssl
from typing import Any

from centinela.contract.settings import Settings

KAFKA_PYTHON_MAX_FRAME_BYTES = 64 * 1024 * 1024


def kafka_python_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by kafka-python's producer, consumer and admin client."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers.split(","),
        "security_protocol": settings.kafka_security_protocol,
        # kafka-python refuses network frames over 1 MB by default, yet a fetch may return up
        # to fetch_max_bytes (50 MB): a busy topic then fails with "Invalid frame length".
        "receive_message_max_bytes": KAFKA_PYTHON_MAX_FRAME_BYTES,
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_sasl_username
        config["sasl_plain_password"] = _reveal(settings.kafka_sasl_password)
    if settings.kafka_security_protocol.endswith("SSL"):
        config["ssl_cafile"] = _path(settings.kafka_ssl_cafile)
        config["ssl_certfile"] = _path(settings.kafka_ssl_certfile)
        config["ssl_keyfile"] = _path(settings.kafka_ssl_keyfile)
        config["ssl_password"] = _reveal(settings.kafka_ssl_key_password)
    return config


def aiokafka_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's clients (the stream's batch sends, benchmarks)."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_sasl_username
        config["sasl_plain_password"] = _reveal(settings.kafka_sasl_password)
    if settings.kafka_security_protocol.endswith("SSL"):
        config["ssl_context"] = ssl_context(settings)
    return config


def ssl_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=_path(settings.kafka_ssl_cafile))
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(
            str(settings.kafka_ssl_certfile),
            _path(settings.kafka_ssl_keyfile),
            _reveal(settings.kafka_ssl_key_password),
        )
    return context


def faust_broker_url(settings: Settings) -> str:
    return ";".join(f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(","))


def _reveal(secret: Any) -> str | None:
    return None if secret is None else str(secret.get_secret_value())


def _path(path: Any) -> str | None:
    return None if path is None else str(path)


def confluent_kafka_config(settings: Settings) -> dict[str, Any]:
    """librdkafka properties (confluent-kafka), used by the high-rate producers."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "security.protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_sasl_username
        config["sasl.password"] = _reveal(settings.kafka_sasl_password)
    if settings.kafka_security_protocol.endswith("SSL"):
        optional = {
            "ssl.ca.location": _path(settings.kafka_ssl_cafile),
            "ssl.certificate.location": _path(settings.kafka_ssl_certfile),
            "ssl.key.location": _path(settings.kafka_ssl_keyfile),
            "ssl.key.password": _reveal(settings.kafka_ssl_key_password),
        }
        config.update({key: value for key, value in optional.items() if value is not None})
    return config
