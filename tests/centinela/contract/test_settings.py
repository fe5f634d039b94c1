from __future__ import annotations

import pytest

from centinela.contract.settings import Settings, load_settings
from centinela.exceptions import ConfigError


def test_defaults_match_the_local_stack() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.kafka_bootstrap_servers == "localhost:9092"
    assert settings.mlflow_tracking_uri == "http://127.0.0.1:5000"
    assert settings.topic_prefix == "centinela."


def test_values_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTINELA_TOPIC_PARTITIONS", "12")
    monkeypatch.setenv("CENTINELA_WINDOW_SECONDS", "60")
    settings = load_settings(_env_file=None)
    assert (settings.topic_partitions, settings.window_seconds) == (12, 60.0)


def test_values_come_from_a_dotenv_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("CENTINELA_MODEL_NAME=fraud\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().model_name == "fraud"


def test_a_wrong_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTINELA_TOPIC_PARTITIONS", "0")
    with pytest.raises(ConfigError, match="CENTINELA_TOPIC_PARTITIONS"):
        load_settings(_env_file=None)


def test_sasl_requires_credentials() -> None:
    with pytest.raises(ConfigError, match="CENTINELA_KAFKA_SASL_USERNAME"):
        load_settings(_env_file=None, kafka_security_protocol="SASL_SSL")


def test_secrets_never_show_in_repr_or_str() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="svc",
        kafka_sasl_password="hunter2",  # type: ignore[arg-type]
        mlflow_tracking_password="s3cret",  # type: ignore[arg-type]
    )
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    assert "s3cret" not in repr(settings)


def test_settings_are_frozen() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        settings.model_name = "other"  # type: ignore[misc]


def test_topic_prefix_must_be_a_valid_topic_name() -> None:
    with pytest.raises(ConfigError, match="CENTINELA_TOPIC_PREFIX"):
        load_settings(_env_file=None, topic_prefix="bad prefix/")


def test_as_environment_round_trips_through_a_child_process_view() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        topic_partitions=7,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="svc",
        kafka_sasl_password="hunter2",  # type: ignore[arg-type]
    )
    environment = settings.as_environment()
    assert environment["CENTINELA_TOPIC_PARTITIONS"] == "7"
    assert environment["CENTINELA_KAFKA_SASL_PASSWORD"] == "hunter2"
    rebuilt = Settings(
        _env_file=None, **{k.removeprefix("CENTINELA_").lower(): v for k, v in environment.items()}
    )  # type: ignore[arg-type]
    assert rebuilt == settings
