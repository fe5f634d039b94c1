"""docker-compose.yml cannot rot silently: its settings are checked against the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from centinela.contract.settings import ENV_PREFIX, Settings
from centinela.stack.kafka_broker import BROKER_SETTINGS, kafka_version

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _centinela_env(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    return {k: str(v) for k, v in environment.items() if k.startswith(ENV_PREFIX)}


def test_kafka_image_is_the_version_the_jar_broker_runs(compose: dict[str, Any]) -> None:
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{kafka_version()}"


def test_kafka_container_has_the_jar_brokers_settings(compose: dict[str, Any]) -> None:
    environment = compose["services"]["kafka"]["environment"]
    for key, value in BROKER_SETTINGS.items():
        variable = "KAFKA_" + key.upper().replace(".", "_")
        assert str(environment.get(variable)) == value, variable


def test_every_centinela_variable_is_a_valid_setting(compose: dict[str, Any]) -> None:
    services = {name: s for name, s in compose["services"].items() if _centinela_env(s)}
    assert {"stream", "retrain", "producer", "bootstrap", "topics"} <= set(services)
    for name, service in services.items():
        variables = _centinela_env(service)
        fields = {variable.removeprefix(ENV_PREFIX).lower() for variable in variables}
        unknown = fields - set(Settings.model_fields)
        assert not unknown, f"service {name} sets unknown settings {sorted(unknown)}"
        values = {variable.removeprefix(ENV_PREFIX).lower(): v for variable, v in variables.items()}
        Settings(_env_file=None, **values)  # type: ignore[arg-type]  # raises if a value is invalid


def test_workers_reach_kafka_and_mlflow_inside_the_compose_network(
    compose: dict[str, Any],
) -> None:
    environment = _centinela_env(compose["services"]["stream"])
    kafka = compose["services"]["kafka"]["environment"]
    assert environment["CENTINELA_KAFKA_BOOTSTRAP_SERVERS"] in kafka["KAFKA_ADVERTISED_LISTENERS"]
    assert environment["CENTINELA_MLFLOW_TRACKING_URI"] == "http://mlflow:5000"


def test_demo_services_sit_behind_the_demo_profile(compose: dict[str, Any]) -> None:
    for name in ("producer", "bootstrap"):
        assert compose["services"][name]["profiles"] == ["demo"]
    for name in ("stream", "retrain", "kafka", "mlflow", "postgres"):
        assert "profiles" not in compose["services"][name]


def test_service_commands_are_real_subcommands(compose: dict[str, Any]) -> None:
    from centinela.cli import build_parser

    choices = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, service in compose["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command[0] == "centinela":
            assert command[1] in choices, f"service {name} runs unknown `centinela {command[1]}`"
