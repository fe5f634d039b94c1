"""Kafka client configuration built from settings: the one place for every client library.

The project talks to Kafka through four libraries: kafka-python (admin, retrain, CLI),
aiokafka (the stream's hot path), Faust (the stream's lifecycle) and confluent-kafka (the
load generator). What to connect to and how to authenticate is read from the settings once,
into a :class:`Connection`; each library's configuration is that connection spelled in the
library's own option names.

Credentials come from :class:`~centinela.contract.settings.Settings` as secrets and are only
unwrapped here, at the moment a client is built; they are never logged.

>>> from centinela.contract.settings import Settings
>>> aiokafka_config(Settings(_env_file=None, kafka_bootstrap_servers="a:9092,b:9092"))
{'bootstrap_servers': 'a:9092,b:9092', 'security_protocol': 'PLAINTEXT'}
>>> kafka_python_config(Settings(_env_file=None))["bootstrap_servers"]
['localhost:9092']
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from centinela.contract.settings import Settings

KAFKA_PYTHON_MAX_FRAME_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Connection:
    """Where the brokers are and how to authenticate, whatever the client library."""

    servers: str
    protocol: str
    sasl_mechanism: str
    sasl_username: str | None
    sasl_password: SecretStr | None
    ssl_cafile: str | None
    ssl_certfile: str | None
    ssl_keyfile: str | None
    ssl_key_password: SecretStr | None

    @classmethod
    def of(cls, settings: Settings) -> Connection:
        return cls(
            servers=settings.kafka_bootstrap_servers,
            protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_username=settings.kafka_sasl_username,
            sasl_password=settings.kafka_sasl_password,
            ssl_cafile=_path(settings.kafka_ssl_cafile),
            ssl_certfile=_path(settings.kafka_ssl_certfile),
            ssl_keyfile=_path(settings.kafka_ssl_keyfile),
            ssl_key_password=settings.kafka_ssl_key_password,
        )

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL")

    @property
    def uses_ssl(self) -> bool:
        return self.protocol.endswith("SSL")

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ssl_cafile)
        if self.ssl_certfile:
            context.load_cert_chain(
                self.ssl_certfile, self.ssl_keyfile, _reveal(self.ssl_key_password)
            )
        return context


def kafka_python_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by kafka-python's producer, consumer and admin client."""
    link = Connection.of(settings)
    config: dict[str, Any] = {
        "bootstrap_servers": link.servers.split(","),
        "security_protocol": link.protocol,
        # kafka-python refuses network frames over 1 MB by default, yet a fetch may return up
        # to fetch_max_bytes (50 MB): a busy topic then fails with "Invalid frame length".
        "receive_message_max_bytes": KAFKA_PYTHON_MAX_FRAME_BYTES,
    }
    if link.uses_sasl:
        config.update(_sasl_plain_options(link))
    if link.uses_ssl:
        config["ssl_cafile"] = link.ssl_cafile
        config["ssl_certfile"] = link.ssl_certfile
        config["ssl_keyfile"] = link.ssl_keyfile
        config["ssl_password"] = _reveal(link.ssl_key_password)
    return config


def aiokafka_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's clients (the stream's batch sends, benchmarks)."""
    link = Connection.of(settings)
    config: dict[str, Any] = {"bootstrap_servers": link.servers, "security_protocol": link.protocol}
    if link.uses_sasl:
        config.update(_sasl_plain_options(link))
    if link.uses_ssl:
        config["ssl_context"] = link.ssl_context()
    return config


def confluent_kafka_config(settings: Settings) -> dict[str, Any]:
    """librdkafka properties (confluent-kafka), used by the high-rate producers."""
    link = Connection.of(settings)
    config: dict[str, Any] = {"bootstrap.servers": link.servers, "security.protocol": link.protocol}
    if link.uses_sasl:
        config["sasl.mechanism"] = link.sasl_mechanism
        config["sasl.username"] = link.sasl_username
        config["sasl.password"] = _reveal(link.sasl_password)
    if link.uses_ssl:
        optional = {
            "ssl.ca.location": link.ssl_cafile,
            "ssl.certificate.location": link.ssl_certfile,
            "ssl.key.location": link.ssl_keyfile,
            "ssl.key.password": _reveal(link.ssl_key_password),
        }
        config.update({key: value for key, value in optional.items() if value is not None})
    return config


def faust_broker_url(settings: Settings) -> str:
    return ";".join(f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(","))


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """The TLS context of the settings' connection (aiokafka and Faust take a context)."""
    return Connection.of(settings).ssl_context()


def _sasl_plain_options(link: Connection) -> dict[str, Any]:
    """kafka-python and aiokafka spell SASL the same way."""
    return {
        "sasl_mechanism": link.sasl_mechanism,
        "sasl_plain_username": link.sasl_username,
        "sasl_plain_password": _reveal(link.sasl_password),
    }


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else str(secret.get_secret_value())


def _path(path: Any) -> str | None:
    return None if path is None else str(path)
