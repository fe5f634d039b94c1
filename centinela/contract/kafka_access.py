"""Why a Kafka client could not connect, said in terms of the settings to fix.

The client libraries report a refused login badly: kafka-python closes the connection and
then fails with ``IncompatibleBrokerVersion``, aiokafka with "Unable to bootstrap", librdkafka
retries forever. When a client fails, :func:`unreachable` opens one connection of its own
(aiokafka's, which raises the broker's answer as it is) and turns that answer into an error
that names the setting: the credentials, the mechanism, the CA file or the protocol. A broker
that does not answer at all stays a :class:`~centinela.exceptions.BrokerUnavailableError`.
"""

from __future__ import annotations

import asyncio
import ssl
from concurrent.futures import ThreadPoolExecutor

from centinela.contract.kafka_clients import aiokafka_config
from centinela.contract.settings import Settings
from centinela.exceptions import BrokerUnavailableError, KafkaAccessError

PROBE_SECONDS = 10.0
START_A_BROKER = "start one with `centinela up` or set CENTINELA_KAFKA_BOOTSTRAP_SERVERS"


def unreachable(
    settings: Settings, error: object, hint: str = START_A_BROKER
) -> BrokerUnavailableError:
    """The error to raise after a client failed to connect with ``error``: a
    :class:`KafkaAccessError` naming the setting when the broker refused us, else "no broker
    answers" with ``hint``."""
    return access_error(settings) or BrokerUnavailableError(
        f"no Kafka broker answers at {settings.kafka_bootstrap_servers} ({error}); {hint}"
    )


def check_access(settings: Settings) -> None:
    """Raise :class:`KafkaAccessError` now if the broker refuses these settings: for clients
    that would otherwise retry a refused login forever (a kafka-python consumer's poll)."""
    refused = access_error(settings)
    if refused is not None:
        raise refused


def access_error(settings: Settings) -> KafkaAccessError | None:
    """The refusal of these settings by a broker at the bootstrap servers, or None when the
    connection works or nothing answers."""
    refused = refusal(settings)
    return None if refused is None else KafkaAccessError(refused)


def refusal(settings: Settings, timeout: float = PROBE_SECONDS) -> str | None:
    """What a broker at the bootstrap servers refused about these settings, in words that
    name the setting, or None. Safe to call from inside an event loop."""
    with ThreadPoolExecutor(1, thread_name_prefix="kafka-probe") as pool:
        return pool.submit(asyncio.run, _probe(settings, timeout)).result()


async def _probe(settings: Settings, timeout: float) -> str | None:
    # Imported here: the command line imports this module and need not load aiokafka.
    from aiokafka.conn import create_conn
    from aiokafka.errors import (
        IllegalSaslStateError,
        KafkaConnectionError,
        SaslAuthenticationFailed,
        UnsupportedSaslMechanismError,
    )

    config = aiokafka_config(settings)
    protocol = f"CENTINELA_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol}"
    for server in config.pop("bootstrap_servers").split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            connection = await asyncio.wait_for(
                create_conn(host, int(port), request_timeout_ms=int(timeout * 1000), **config),
                timeout,
            )
        except SaslAuthenticationFailed as error:
            return (
                f"Kafka at {server} refused the login ({_broker_words(error)}): check "
                "CENTINELA_KAFKA_SASL_USERNAME and CENTINELA_KAFKA_SASL_PASSWORD (mechanism "
                f"CENTINELA_KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism})"
            )
        except UnsupportedSaslMechanismError:
            return (
                f"Kafka at {server} does not accept CENTINELA_KAFKA_SASL_MECHANISM="
                f"{settings.kafka_sasl_mechanism}: set the mechanism its listener enables"
            )
        except IllegalSaslStateError:
            return (
                f"Kafka at {server} does not do SASL on that port: check {protocol} against "
                "the listener on that port (PLAINTEXT or SSL there?)"
            )
        except ssl.SSLCertVerificationError as error:
            return (
                f"the TLS certificate of Kafka at {server} is not trusted ({error.verify_message}):"
                " check CENTINELA_KAFKA_SSL_CAFILE (the authority that signed the broker's "
                "certificate) and that the host name matches the certificate"
            )
        except (ssl.SSLError, ConnectionResetError) as error:
            if not settings.kafka_security_protocol.endswith("SSL"):
                continue
            return (
                f"no TLS handshake with Kafka at {server} ({_broker_words(error)}): check "
                f"{protocol} against the listener on that port (no TLS there?)"
            )
        except KafkaConnectionError:
            if settings.kafka_security_protocol.endswith("SSL"):
                continue
            return (
                f"Kafka at {server} closed the connection before answering: check {protocol} "
                "against the listener on that port (TLS there? then SASL_SSL or SSL)"
            )
        except Exception:  # refused, timed out: nothing that names a setting
            continue
        connection.close()
        return None
    return None


def _broker_words(error: BaseException) -> str:
    """The broker's or the TLS library's own words (aiokafka puts its connection first)."""
    words = [str(arg) for arg in error.args if isinstance(arg, str)]
    reason = getattr(error, "reason", None)
    return words[-1] if words else str(reason or type(error).__name__)
