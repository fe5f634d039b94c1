"""The contract every Centinela process shares: settings, records, codec, topics, Kafka clients.

Importing the package stays light (no Kafka, MLflow or Faust); import those modules directly.
"""

from centinela.contract.codec import decode, encode
from centinela.contract.records import (
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
from centinela.contract.settings import Settings, load_settings

__all__ = [
    "Alert",
    "DeadLetter",
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
