"""Typed, frozen settings, read once per process from ``CENTINELA_*`` variables and ``.env``.

Build them at the entry point with :func:`load_settings` and pass them down; nothing else in
Centinela reads ``os.environ``. The defaults match the stack that ``centinela up`` starts, so
every command works with no settings at all.

>>> s = Settings(topic_prefix="demo.")
>>> s.topic_prefix, s.kafka_bootstrap_servers
('demo.', 'localhost:9092')
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream.exceptions import ConfigError

ENV_PREFIX = "CENTINELA_"


class Settings(BaseSettings):
    """Every knob of Centinela. Field ``x`` is read from ``CENTINELA_X``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        frozen=True,
        extra="ignore",
        case_sensitive=False,
    )

    # --- Kafka -------------------------------------------------------------------------------
    kafka_bootstrap_servers: str = Field("localhost:9092", min_length=1)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_key_password: SecretStr | None = None
    topic_prefix: str = "centinela."
    topic_partitions: int = Field(4, ge=1, le=1024)
    topic_replication_factor: int = Field(1, ge=1, le=16)
    max_message_bytes: int = Field(1_000_000, ge=1024)

    # --- MLflow ------------------------------------------------------------------------------
    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    mlflow_tracking_username: str | None = None
    mlflow_tracking_password: SecretStr | None = None
    model_name: str = Field("centinela-model", min_length=1)
    monitoring_experiment: str = "centinela-monitoring"
    training_experiment: str = "centinela-training"

    # --- Local stack (`centinela up`) ----------------------------------------------------------
    home: Path = Path(".centinela")
    local_kafka_port: int = Field(9092, ge=1, le=65535)
    local_kafka_controller_port: int = Field(9093, ge=1, le=65535)
    local_mlflow_port: int = Field(5000, ge=1, le=65535)

    # --- Scoring -----------------------------------------------------------------------------
    stream_app_id: str = "centinela-stream"
    stream_web_port: int = Field(6066, ge=1, le=65535)
    batch_size: int = Field(1000, ge=1, le=100_000)
    batch_wait_ms: int = Field(50, ge=0, le=60_000)
    champion_poll_seconds: float = Field(10.0, gt=0)

    # --- Label join --------------------------------------------------------------------------
    join_ttl_seconds: float = Field(3600.0, gt=0)

    # --- Drift windows -----------------------------------------------------------------------
    window_seconds: float = Field(20.0, gt=0)
    allowed_lateness_seconds: float = Field(10.0, ge=0)
    drift_alpha: float = Field(0.01, gt=0, lt=1)
    drift_correction: Literal["bonferroni", "bh"] = "bonferroni"
    drift_numeric_test: Literal["ks", "psi", "wasserstein", "js"] = "ks"
    drift_categorical_test: Literal["chi2", "psi", "js"] = "chi2"
    psi_threshold: float = Field(0.2, gt=0)
    js_threshold: float = Field(0.1, gt=0, le=1)  # Jensen-Shannon distance, base 2
    wasserstein_threshold: float = Field(0.1, gt=0)  # in reference standard deviations
    drift_ks_method: Literal["asymp", "exact", "auto"] = "asymp"  # as scipy's ks_2samp method
    reference_sample_size: int = Field(10_000, ge=100)
    window_exact_cap: int = Field(20_000, ge=100)
    concept_detector: Literal["adwin", "ddm", "page_hinkley", "kswin"] = "adwin"
    concept_alpha: float = Field(0.001, gt=0, lt=1)
    report_every_windows: int = Field(10, ge=1)
    metrics_queue_size: int = Field(10_000, ge=1)
    alert_webhook_url: str | None = None

    # --- Retrain policy ----------------------------------------------------------------------
    policy_min_drifted_features: int = Field(2, ge=1)
    policy_consecutive_windows: int = Field(2, ge=1)
    policy_cooldown_seconds: float = Field(3600.0, ge=0)
    policy_min_labeled: int = Field(500, ge=0)
    retrain_group_id: str = "centinela-retrain"
    retrain_min_rows: int = Field(500, ge=10)
    retrain_champion_data_share: float = Field(0.0, ge=0, le=1)
    retrain_holdout_share: float = Field(0.2, gt=0, lt=1)
    auto_promote: bool = False
    auto_promote_min_improvement: float = Field(0.01, ge=0)
    auto_promote_min_holdout: int = Field(1000, ge=1)

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_a_topic_name(cls, value: str) -> str:
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if not set(value) <= allowed:
            raise ValueError("may hold only letters, digits, '.', '_' and '-'")
        return value

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Settings:
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                "CENTINELA_KAFKA_SASL_USERNAME and CENTINELA_KAFKA_SASL_PASSWORD are required "
                f"when CENTINELA_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol}"
            )
        return self

    def as_environment(self) -> dict[str, str]:
        """These settings as ``CENTINELA_*`` variables, secrets included, for a child process.

        Only for handing settings to processes Centinela starts itself; never log the result.
        """
        environment = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            environment[ENV_PREFIX + name.upper()] = str(value)
        return environment


def load_settings(**overrides: object) -> Settings:
    """Read the settings once, turning a validation failure into a message naming each setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(describe_invalid_settings(error)) from None


def describe_invalid_settings(error: ValidationError) -> str:
    lines = ["invalid settings:"]
    for problem in error.errors():
        location = [str(part) for part in problem["loc"]]
        name = (ENV_PREFIX + location[0]).upper() if location else "settings"
        lines.append(f"  {name}: {problem['msg']}")
    return "\n".join(lines)
