"""Shared fixtures: a real Kafka broker, a real MLflow store and server, and settings for them.

The broker comes from, in order: ``KAFKA_BOOTSTRAP_SERVERS``; testcontainers when a Docker
engine answers; the local jar broker (docs/architecture.md, "Running it"). Without any of
them a test fails with a message that says how to get one; it never skips. The same holds for
the MLflow server behind basic auth and the one on a real PostgreSQL server, which start only
when a test names them.

A test that takes a broker or MLflow fixture is marked ``integration`` here, so that
``pytest -m "not integration"`` runs exactly the pure tests. The report header names the broker
and the MLflow store the suite runs against, so that every CI log says so.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from pydantic import SecretStr

from centinela.contract.settings import Settings
from centinela.exceptions import CentinelaError
from centinela.stack.kafka_broker import KafkaBroker, kafka_version
from centinela.stack.kafka_security import BrokerSecurity, ScramUser, make_test_tls
from centinela.stack.mlflow_server import BasicAuth, MlflowServer
from centinela.stack.postgres import PostgresServer, postgres_binaries
from centinela.stack.process import free_port

log = logging.getLogger("tests")

# Fixtures that reach a real broker or a real MLflow store or server.
INTEGRATION_FIXTURES = frozenset(
    {
        "kafka_bootstrap",
        "make_settings",
        "mlflow_server",
        "mlflow_store",
        "mlflow_auth_server",
        "postgres_server",
        "mlflow_postgres_server",
        "secured_kafka",
        "make_secured_settings",
    }
)

NO_BROKER_HELP = (
    "no Kafka broker for the integration tests: set KAFKA_BOOTSTRAP_SERVERS to a running broker, "
    "start a Docker engine (testcontainers), or install Java 17+ and Maven so that the local jar "
    "broker can start (`make test` does the rest)"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


def pytest_report_header(config: pytest.Config) -> list[str]:
    import mlflow

    return [
        f"centinela: Kafka broker: {_broker_source()}",
        f"centinela: MLflow {mlflow.__version__}: a SQLite store per test (tmp_path/mlflow.db) "
        "and one `mlflow server` on SQLite for the multi-process tests; one behind basic auth "
        f"and one on PostgreSQL ({_postgres_source()}) for the tests that name them",
    ]


def _postgres_source() -> str:
    try:
        return f"the server binaries in {postgres_binaries()}"
    except CentinelaError as error:
        return f"not found: {error}"


def _broker_source() -> str:
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        return f"the broker at KAFKA_BOOTSTRAP_SERVERS={given} (its version is the user's)"
    if _docker_engine_answers():
        return f"Apache Kafka {kafka_version()} in a container (testcontainers, apache/kafka)"
    return (
        f"Apache Kafka {kafka_version()} from its Maven Central jars (KRaft, one node), "
        "started on free ports when the first integration test needs it"
    )


def _docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


class _Startable(Protocol):
    def start(self) -> None: ...
    def stop(self) -> bool: ...


Server = TypeVar("Server", bound=_Startable)


def running(server: Server, failure: str) -> Iterator[Server]:
    """Start ``server`` for a fixture and stop it after; a start that fails fails the tests
    that need it with ``failure`` and the reason, never a skip."""
    try:
        server.start()
    except CentinelaError as error:
        pytest.fail(f"{failure}: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of a real Apache Kafka broker for the whole test session."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        log.info("using the Kafka broker at KAFKA_BOOTSTRAP_SERVERS=%s", given)
        yield given
        return
    if _docker_engine_answers():
        yield from _container_broker()
        return
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"), free_port(), free_port())
    try:
        broker.start()
    except CentinelaError as error:
        pytest.fail(f"{NO_BROKER_HELP}\n{error}", pytrace=False)
    log.warning("Apache Kafka %s (jar broker) at %s", kafka_version(), broker.bootstrap_servers)
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


def _container_broker() -> Iterator[str]:
    from testcontainers.community.kafka import KafkaContainer  # only where Docker runs

    with KafkaContainer(f"apache/kafka:{kafka_version()}").with_kraft() as container:
        print(f"\n[centinela tests] Apache Kafka {kafka_version()} (testcontainers)")
        yield container.get_bootstrap_server()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A running `mlflow server` on SQLite, for tests with several processes."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"), free_port())
    yield from running(server, "the MLflow server for the tests did not start")


@pytest.fixture(scope="session")
def mlflow_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A running `mlflow server` on SQLite behind basic auth; its admin is ``server.auth``."""
    admin = BasicAuth("centinela-admin", SecretStr(f"pw-{secrets.token_hex(12)}"))
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-auth"), free_port(), auth=admin)
    yield from running(server, "the MLflow server with basic auth did not start")


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A real PostgreSQL server (initdb in a temporary folder) with the database `mlflow`."""
    server = PostgresServer(tmp_path_factory.mktemp("postgres"), free_port())
    yield from running(server, "PostgreSQL for the tests did not start")


@pytest.fixture(scope="session")
def mlflow_postgres_server(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[MlflowServer]:
    """A running `mlflow server` on the PostgreSQL server, as docker-compose.yml runs it (its
    registry webhooks may call the tests' plain-HTTP receivers on 127.0.0.1, as on every server
    the local stack runs)."""
    server = MlflowServer(
        tmp_path_factory.mktemp("mlflow-postgres"),
        free_port(),
        backend_store_uri=postgres_server.database_uri,
    )
    yield from running(server, "the MLflow server on PostgreSQL did not start")


@pytest.fixture
def mlflow_store(tmp_path: Path) -> str:
    """A fresh MLflow SQLite store in a temporary folder, as a tracking URI."""
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.fixture
def make_settings(kafka_bootstrap: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings on the test broker with a topic prefix of their own, so tests never collide."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": kafka_bootstrap,
            "topic_prefix": f"t{uuid.uuid4().hex[:8]}.",
            "topic_partitions": 2,
            "home": tmp_path / ".centinela",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return factory


@dataclass(frozen=True)
class SecuredKafka:
    """A jar broker with SASL_SSL and SASL_PLAINTEXT listeners and one SCRAM-SHA-512 user."""

    broker: KafkaBroker
    user: ScramUser
    ca_file: Path
    keystore_password: SecretStr

    def secrets(self) -> list[str]:
        """Every password the broker and its clients know: none may reach a log."""
        return [self.user.password.get_secret_value(), self.keystore_password.get_secret_value()]


@pytest.fixture(scope="session")
def secured_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    """A second jar broker, secured, with its own certificate authority; started on first use.

    Always the jar broker (Java 17+), whatever ``KAFKA_BOOTSTRAP_SERVERS`` says: the test
    makes the authority, the broker certificate and the user, and needs all three."""
    home = tmp_path_factory.mktemp("kafka-secured")
    try:
        tls = make_test_tls(home / "tls")
        user = ScramUser("centinela", SecretStr(f"pw-{secrets.token_hex(12)}"))
        security = BrokerSecurity(free_port(), free_port(), tls, (user,))
        broker = KafkaBroker(home, free_port(), free_port(), security)
        broker.start()
    except CentinelaError as error:
        pytest.fail(
            "the secured Kafka broker (SASL_SSL, SASL_PLAINTEXT) did not start; it needs Java 17+ "
            f"(java, keytool) and Maven: {error}",
            pytrace=False,
        )
    log.warning("secured Kafka broker: SASL_SSL at %s", broker.listener("SASL_SSL"))
    try:
        yield SecuredKafka(broker, user, tls.ca_file, tls.password)
    finally:
        broker.stop()


@pytest.fixture
def make_secured_settings(secured_kafka: SecuredKafka, tmp_path: Path) -> Callable[..., Settings]:
    """Settings on the secured broker for a protocol (SASL_SSL by default) with the test
    user's SCRAM-SHA-512 login; ``overrides`` replace any of them (a wrong password...)."""

    def factory(protocol: str = "SASL_SSL", **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": secured_kafka.broker.listener(protocol),
            "kafka_security_protocol": protocol,
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": secured_kafka.user.name,
            "kafka_sasl_password": secured_kafka.user.password,
            "topic_prefix": f"t{uuid.uuid4().hex[:8]}.",
            "topic_partitions": 2,
            "home": tmp_path / ".centinela",
        }
        if protocol == "SASL_SSL":
            values["kafka_ssl_cafile"] = secured_kafka.ca_file
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return factory
