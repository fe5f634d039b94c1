"""`centinela up`, `down` and `status`: the local stack, without Docker."""

from __future__ import annotations

import argparse

from centinela.cli import Subcommands
from centinela.contract.settings import Settings
from centinela.stack.kafka_broker import KafkaBroker, kafka_version
from centinela.stack.mlflow_server import MlflowServer


def local_stack(settings: Settings) -> tuple[KafkaBroker, MlflowServer]:
    home = settings.home
    broker = KafkaBroker(
        home / "kafka", settings.local_kafka_port, settings.local_kafka_controller_port
    )
    return broker, MlflowServer(home / "mlflow", settings.local_mlflow_port)


def up(args: argparse.Namespace, settings: Settings) -> int:
    broker, mlflow = local_stack(settings)
    for name, part, address in (
        (f"Kafka {kafka_version()}", broker, broker.bootstrap_servers),
        ("MLflow", mlflow, mlflow.tracking_uri),
    ):
        if part.running():
            print(f"{name:<12} already running at {address}")
            continue
        print(f"{name:<12} starting...", flush=True)
        part.start()
        print(f"{name:<12} listening at {address}")
    print(f"data, logs and pid files under {settings.home.resolve()}; stop with `centinela down`")
    return 0


def down(args: argparse.Namespace, settings: Settings) -> int:
    broker, mlflow = local_stack(settings)
    for name, part in (("MLflow", mlflow), ("Kafka", broker)):
        print(f"{name:<12} {'stopped' if part.stop() else 'was not running'}")
    return 0


def status(args: argparse.Namespace, settings: Settings) -> int:
    broker, mlflow = local_stack(settings)
    print(f"Kafka {kafka_version():<6} {_state(broker.running(), broker.bootstrap_servers)}")
    print(f"MLflow       {_state(mlflow.running(), mlflow.tracking_uri)}")
    return 0 if broker.running() and mlflow.running() else 1


def _state(running: bool, address: str) -> str:
    return f"running at {address}" if running else "not running"


def register_up(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser("up", help="start the local Kafka broker and MLflow server")
    parser.set_defaults(handler=up)


def register_down(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser("down", help="stop what `centinela up` started")
    parser.set_defaults(handler=down)


def register_status(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser("status", help="show whether the local stack runs")
    parser.set_defaults(handler=status)
