"""Centinela's shared core: what the stream, the producers and the retrain worker all use.

- :mod:`centinela.contract`: settings, records, the codec, topics, Kafka client configuration.
- :mod:`centinela.models`: MLflow registry access, trainers, the reference profile.
- :mod:`centinela.drift`: the drift statistics (pure: no Kafka, no MLflow).
- :mod:`centinela.stack`: the local Kafka broker (from jars) and MLflow server.
- :mod:`centinela.cli`: the ``centinela`` command; :mod:`centinela.demo`: ``centinela demo``.

The services (``stream/``, ``producers/``, ``retrain/``) import from here and never from each
other. docs/architecture.md follows one event through all of them.
"""

from centinela.exceptions import CentinelaError, ConfigError, DecodeError

__all__ = ["CentinelaError", "ConfigError", "DecodeError"]
