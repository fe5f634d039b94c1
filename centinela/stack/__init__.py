"""The local stack without Docker: a real Apache Kafka broker from its Maven Central jars and an
MLflow tracking server on SQLite, both under ``.centinela/`` (docs/architecture.md, "Running
it")."""

from centinela.stack.kafka_broker import KafkaBroker
from centinela.stack.mlflow_server import MlflowServer

__all__ = ["KafkaBroker", "MlflowServer"]
