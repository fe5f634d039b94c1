"""Errors of the stream package and the shared contract.

Every error Centinela raises on purpose derives from :class:`CentinelaError`, so a command line
can tell a user's mistake (print the message, exit non-zero) from a bug (show the traceback).
"""

from __future__ import annotations


class CentinelaError(Exception):
    """Root of every error Centinela raises on purpose; its message is meant for a person."""


class ConfigError(CentinelaError):
    """A setting has a wrong value; the message names the setting."""


class DecodeError(CentinelaError):
    """Bytes from Kafka that do not decode into the expected record.

    ``reason`` is a short stable code (``malformed_json``, ``invalid_record``,
    ``naive_timestamp``, ``non_finite``, ``oversized``, ``unsupported_schema``) used as the
    dead-letter reason and the metrics label; ``detail`` says what exactly was wrong.
    """

    def __init__(self, reason: str, detail: str, *, record_type: str = "") -> None:
        self.reason = reason
        self.detail = detail
        self.record_type = record_type
        where = f" as {record_type}" if record_type else ""
        super().__init__(f"cannot decode message{where}: {reason}: {detail}")


class StackError(CentinelaError):
    """The local stack (jar broker, MLflow server) cannot start, stop or be found."""


class BrokerUnavailableError(CentinelaError):
    """No Kafka broker answers at the configured bootstrap servers."""


class KafkaAccessError(BrokerUnavailableError):
    """A Kafka broker answers but refuses this client: its login, mechanism, TLS trust or
    protocol is wrong. The message names the setting to fix."""


class TrainerError(CentinelaError):
    """A named trainer is unknown, rejects its parameters, or cannot fit the data given."""


class RegistryError(CentinelaError):
    """Something about the MLflow model registry went wrong; the message says what."""


class ChampionMissingError(RegistryError):
    """The registered model has no version under the requested alias (or version)."""


class RegistryUnavailableError(RegistryError):
    """The MLflow tracking server or store does not answer."""


class RegistryCredentialsError(RegistryError):
    """The MLflow server refuses the configured credentials (or wants some): retrying cannot
    help; the message names the settings to fix."""


class ProfileError(CentinelaError):
    """A reference profile cannot be built, read or used (centinela/models/profile.py)."""
