"""docker-compose.yml cannot rot silently: its settings are checked against the code, and its
services against the image the Dockerfile builds (who runs, where it may write, what is in it).
docker-compose.auth.yml, the override that puts MLflow behind basic auth, is checked against it.

There is no Docker engine in CI: the Dockerfile is read as data (tests/dockerfile.py), and
tests/test_image_conditions.py runs a stream worker under the image's conditions.
"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from centinela.contract.settings import ENV_PREFIX, Settings
from centinela.stack import postgres
from centinela.stack.kafka_broker import BROKER_SETTINGS, kafka_version
from tests.dockerfile import REPO, Image, read_image

COMPOSE = REPO / "docker-compose.yml"
COMPOSE_AUTH = REPO / "docker-compose.auth.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def image() -> Image:
    return read_image()


def image_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the image built from ./Dockerfile."""
    services = {n: s for n, s in compose["services"].items() if s.get("build") == "."}
    assert {"mlflow", "topics", "stream", "retrain", "bootstrap", "producer"} <= set(services)
    return services


def command_words(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    assert command, "a service of the image must say what it runs (the image's CMD is --help)"
    return shlex.split(command) if isinstance(command, str) else [str(w) for w in command]


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


def test_the_image_runs_as_an_unprivileged_user_with_a_fixed_uid(image: Image) -> None:
    account = image.account()
    assert image.user not in ("root", "0")
    assert account.uid >= 1000, "a fixed, non-system-range uid keeps volume owners stable"


def test_centinela_home_is_set_and_is_the_users_writable_home(image: Image) -> None:
    home = image.env.get("CENTINELA_HOME")
    assert home, "the image must set CENTINELA_HOME (the default, .centinela, is under /app)"
    assert home.startswith("/")
    assert home == image.account().home
    assert image.writable(home)


def test_every_service_of_the_image_starts_where_its_user_can_write(
    compose: dict[str, Any], image: Image
) -> None:
    account = image.account()
    for name, service in image_services(compose).items():
        assert service.get("user", image.user) == image.user, f"service {name} switches user"
        working = service.get("working_dir", image.workdir)
        assert image.writable(working), f"service {name} starts in {working}, not writable"
        environment = {**image.env, **(service.get("environment") or {})}
        for variable, default in (("CENTINELA_HOME", None), ("HOME", account.home)):
            folder = environment.get(variable, default)
            assert folder and image.writable(folder), f"service {name}: {variable}={folder}"


def test_every_volume_of_the_image_is_a_folder_the_image_prepares_for_its_user(
    compose: dict[str, Any], image: Image
) -> None:
    """A new named volume takes the owner of the image's folder at its first mount; a mount
    point the image does not create would be made root-owned."""
    for name, service in image_services(compose).items():
        for volume in service.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            assert source in compose["volumes"], f"service {name}: {source} is no named volume"
            assert target in image.owned_folders(), f"service {name} mounts {source} on {target}"


def test_mlflow_keeps_its_artifacts_in_the_volume_the_image_prepares(
    compose: dict[str, Any], image: Image
) -> None:
    service = compose["services"]["mlflow"]
    words = command_words(service)
    destination = words[words.index("--artifacts-destination") + 1]
    assert destination in image.owned_folders(), f"MLflow writes to {destination}"
    assert f"mlflow-artifacts:{destination}" in service["volumes"]


def test_every_process_the_services_run_is_in_the_image(
    compose: dict[str, Any], image: Image
) -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    project = pyproject["project"]
    packages = {
        pattern.rstrip("*")
        for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = set(image.copied)
    assert {"pyproject.toml", "constraints.txt", project["readme"]} <= copied
    assert packages <= copied, f"packages not copied into the image: {sorted(packages - copied)}"
    for source in copied:
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which is not here"
    commands = project["entry-points"]["centinela.commands"]
    entry_points = [project["scripts"]["centinela"], *commands.values()]
    for entry_point in entry_points:  # every subcommand, the demo's too
        package = entry_point.split(".")[0]
        assert package in packages and package in copied, f"{entry_point} is not in the image"
    requirements = image.pip_requirements()
    assert "." in requirements, "the image must install the project itself"
    for name, service in image_services(compose).items():
        words = command_words(service)
        if words[0] == "centinela":
            assert words[1] in commands, f"service {name} runs unknown `centinela {words[1]}`"
        elif words[0] == "mlflow":
            assert any(d.startswith("mlflow") for d in project["dependencies"])
            store = words[words.index("--backend-store-uri") + 1]
            if store.startswith("postgresql"):
                # SQLAlchemy 2.1 reads postgresql:// as postgresql+psycopg (3), not psycopg2.
                assert any(r.startswith("psycopg[binary]") for r in requirements), (
                    "the MLflow server on PostgreSQL needs psycopg (3) in the image"
                )
        else:
            pytest.fail(f"service {name} runs {words[0]}, which the image does not install")


def test_the_tests_postgresql_is_the_one_compose_gives_mlflow(compose: dict[str, Any]) -> None:
    """tests/e2e/test_mlflow_on_postgres.py runs MLflow on centinela.stack.postgres: the same
    user, password and database as compose's `postgres`, in the same store URI."""
    environment = compose["services"]["postgres"]["environment"]
    assert (environment["POSTGRES_USER"], environment["POSTGRES_PASSWORD"]) == (
        postgres.USER,
        postgres.PASSWORD,
    )
    assert environment["POSTGRES_DB"] == postgres.DATABASE
    words = command_words(compose["services"]["mlflow"])
    local = postgres.PostgresServer(REPO, 5432, host="postgres").database_uri
    assert words[words.index("--backend-store-uri") + 1] == local


def test_the_basic_auth_override_logs_every_mlflow_client_in(
    compose: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker-compose.auth.yml: the same MLflow server plus `--app-name basic-auth`, an auth
    configuration MLflow reads, and the admin's login in every service that talks to MLflow."""
    from mlflow.server.auth.config import read_auth_config

    override: dict[str, Any] = yaml.safe_load(COMPOSE_AUTH.read_text())
    mlflow = override["services"]["mlflow"]
    assert command_words(mlflow) == [*command_words(compose["services"]["mlflow"]),
                                     "--app-name", "basic-auth"]  # fmt: skip
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert any(d.startswith("mlflow[auth]") for d in pyproject["project"]["dependencies"])

    [mounted] = mlflow["configs"]
    assert mlflow["environment"]["MLFLOW_AUTH_CONFIG_PATH"] == mounted["target"]
    ini = tmp_path / "basic_auth.ini"
    ini.write_text(override["configs"][mounted["source"]]["content"])
    monkeypatch.setenv("MLFLOW_AUTH_CONFIG_PATH", str(ini))
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", "from-the-environment")
    config = read_auth_config()
    words = command_words(mlflow)
    assert config.database_uri == words[words.index("--backend-store-uri") + 1]
    assert config.admin_password == "from-the-environment"
    for secret in ("MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY"):
        assert mlflow["environment"][secret].startswith("${"), f"{secret} must come from outside"

    talk_to_mlflow = {"stream", "retrain", "bootstrap"}
    assert set(override["services"]) == {"mlflow", *talk_to_mlflow}
    for name in talk_to_mlflow:
        login = _centinela_env(override["services"][name])
        assert login["CENTINELA_MLFLOW_TRACKING_USERNAME"] == config.admin_username
        assert (
            login["CENTINELA_MLFLOW_TRACKING_PASSWORD"]
            == (mlflow["environment"]["MLFLOW_AUTH_ADMIN_PASSWORD"])
        )
        merged = {**_centinela_env(compose["services"][name]), **login}
        values = {k.removeprefix(ENV_PREFIX).lower(): v for k, v in merged.items()}
        Settings(_env_file=None, **values)  # type: ignore[arg-type]  # raises if a value is invalid
