"""A single-node Apache Kafka 4.x broker (KRaft, broker+controller) run from its Maven jars.

The jars are resolved by Maven from ``infra/kafka/pom.xml``; the storage is formatted with
``kafka.tools.StorageTool`` in its own JVM and the broker runs ``kafka.Kafka`` on a generated
``server.properties`` (docs/architecture.md, "Running it").
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from centinela.exceptions import StackError
from centinela.stack.kafka_security import BrokerSecurity
from centinela.stack.process import ManagedProcess, port_open

log = logging.getLogger(__name__)

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra" / "kafka"
POM = INFRA_DIR / "pom.xml"
LOG_CONFIG = INFRA_DIR / "log4j2.properties"
LIBS = INFRA_DIR / "target" / "libs"


def kafka_version() -> str:
    """The pinned Kafka version, read from the Maven file (the single source of truth)."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", _read_pom())
    if not match:
        raise StackError(f"{POM} does not pin <kafka.version>")
    return match.group(1)


def ensure_jars() -> Path:
    """Resolve the broker's jars with Maven once; later calls reuse them."""
    version = kafka_version()
    if (LIBS / f"kafka_2.13-{version}.jar").exists():
        return LIBS
    _require_tool("mvn", "Maven")
    _require_tool("java", "Java 17+")
    log.info("resolving Apache Kafka %s jars from Maven Central (once)...", version)
    shutil.rmtree(LIBS, ignore_errors=True)
    result = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"Maven could not resolve the Kafka jars:\n{result.stdout[-2000:]}")
    return LIBS


# Everything but addresses and paths; docker-compose.yml sets the same values on the apache/kafka
# image (tests/test_compose.py holds the two together).
BROKER_SETTINGS = {
    "process.roles": "broker,controller",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "num.partitions": "4",
    "auto.create.topics.enable": "true",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "8",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    # Single node: a consumer group need not wait for members that will never come.
    "group.initial.rebalance.delay.ms": "0",
}


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


class KafkaBroker:
    """One local broker whose data, config, log and pid file live in ``home``.

    With ``security``, it also listens for SASL_SSL and SASL_PLAINTEXT clients (SCRAM) on the
    ports that names; the PLAINTEXT listener and the controller stay as they are.
    """

    def __init__(
        self,
        home: Path,
        port: int = 9092,
        controller_port: int = 9093,
        security: BrokerSecurity | None = None,
    ) -> None:
        self.home = home
        self.address = BrokerAddress("127.0.0.1", port, controller_port)
        self.security = security
        self.process = ManagedProcess("Kafka broker", home / "kafka.pid", home / "kafka.log")
        self._log_start = 0  # where this run's lines begin in the (appended) log

    @property
    def bootstrap_servers(self) -> str:
        return self.address.bootstrap

    def listener(self, protocol: str) -> str:
        """Bootstrap servers of the listener for ``protocol`` (PLAINTEXT, SASL_SSL, ...)."""
        listeners = self._listeners()
        if protocol not in listeners:
            raise StackError(f"this broker has no {protocol} listener")
        return listeners[protocol]

    def running(self) -> bool:
        return self.process.pid() is not None

    def start(self, timeout: float = 90.0) -> None:
        """Format storage on first use, start the broker and wait until it accepts clients."""
        if self.running():
            return
        for port in self._ports():
            if port_open(self.address.host, port):
                raise StackError(
                    f"port {port} is already taken by another program; stop it, choose other "
                    "ports (CENTINELA_LOCAL_KAFKA_PORT, CENTINELA_LOCAL_KAFKA_CONTROLLER_PORT), "
                    "or point CENTINELA_KAFKA_BOOTSTRAP_SERVERS at a broker you already run"
                )
        libs = ensure_jars()
        config = self._write_config()
        if not (self.home / "data" / "meta.properties").exists():
            self._format(libs, config)
        log_file = self.process.log_file
        self._log_start = log_file.stat().st_size if log_file.exists() else 0
        self.process.start(self._java(libs, "kafka.Kafka", str(config)))
        self.process.wait_until(self._ready, timeout, "accept connections")
        log.info("Apache Kafka %s listening on %s", kafka_version(), self.bootstrap_servers)

    def stop(self) -> bool:
        return self.process.stop()

    def _ready(self) -> bool:
        if not port_open(self.address.host, self.address.port):
            return False
        # A restart on the same home appends to the log: only this run's lines count.
        with self.process.log_file.open("rb") as log_file:
            log_file.seek(self._log_start)
            return b"Kafka Server started" in log_file.read()

    def _format(self, libs: Path, config: Path) -> None:
        cluster_id = uuid.uuid4().hex[:22]
        command = self._java(libs, "kafka.tools.StorageTool", "format", "-t", cluster_id)
        users = self.security.format_arguments() if self.security else []
        result = subprocess.run(
            [*command, "-c", str(config), "--ignore-formatted", *users],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{result.stdout[-2000:]}")

    def _java(self, libs: Path, main: str, *args: str) -> list[str]:
        java = _require_tool("java", "Java 17+")
        return [
            java,
            "-Xms256m",
            "-Xmx1g",
            f"-Dlog4j2.configurationFile={LOG_CONFIG}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def _listeners(self) -> dict[str, str]:
        a = self.address
        secured = self.security.listeners(a.host) if self.security else {}
        return {"PLAINTEXT": a.bootstrap, **secured}

    def _ports(self) -> list[int]:
        ports = [int(server.rsplit(":", 1)[1]) for server in self._listeners().values()]
        return [*ports, self.address.controller_port]

    def _write_config(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        a = self.address
        listeners = self._listeners()
        advertised = ",".join(f"{name}://{server}" for name, server in listeners.items())
        protocols = ",".join(f"{name}:{name}" for name in listeners)
        properties = {
            "node.id": "1",
            "controller.quorum.voters": f"1@{a.host}:{a.controller_port}",
            "listeners": f"{advertised},CONTROLLER://{a.host}:{a.controller_port}",
            "advertised.listeners": advertised,
            "listener.security.protocol.map": f"CONTROLLER:PLAINTEXT,{protocols}",
            "log.dirs": str((self.home / "data").resolve()),
            **BROKER_SETTINGS,
            **(self.security.properties() if self.security else {}),
        }
        path = self.home / "server.properties"
        path.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
        if self.security:
            path.chmod(0o600)  # it holds the keystore's password
        return path


def _require_tool(command: str, what: str) -> str:
    found = shutil.which(command)
    if not found:
        raise StackError(
            f"{what} is needed to run the local Kafka broker but `{command}` is not on PATH; "
            f"install it (e.g. `apt-get install openjdk-17-jre-headless maven`) "
            "or run the stack with `docker compose up -d`"
        )
    return found


def _read_pom() -> str:
    try:
        return POM.read_text()
    except FileNotFoundError:
        raise StackError(
            f"{POM} is missing: the local broker runs from a source checkout of Centinela; "
            "elsewhere use docker compose"
        ) from None
