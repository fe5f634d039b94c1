"""Centinela's stream app and the shared contract: records, codec, topics, settings.

Importing the package stays light (no Kafka, MLflow or Faust); import those modules directly.
"""

from stream.codec import decode, encode
from stream.exceptions import CentinelaError, ConfigError, DecodeError
from stream.records import (
    Alert,
    DeadLetter,
    DriftReport,
    FeatureEvent,
    LabeledExample,
    LabelEvent,
    ModelEvent,
    Prediction,
    RetrainRequest,
)
from stream.settings import Settings, load_settings

__all__ = [
    "Alert",
    "CentinelaError",
    "ConfigError",
    "DeadLetter",
    "DecodeError",
    "DriftReport",
    "FeatureEvent",
    "LabelEvent",
    "LabeledExample",
    "ModelEvent",
    "Prediction",
    "RetrainRequest",
    "Settings",
    "decode",
    "encode",
    "load_settings",
]
