"""The local stack without Docker: a real Apache Kafka broker from its Maven Central jars and an
MLflow tracking server on SQLite, both under ``.centinela/`` (DESIGN.md §8)."""

from stream.stack.kafka_broker import KafkaBroker
from stream.stack.mlflow_server import MlflowServer

__all__ = ["KafkaBroker", "MlflowServer"]
