"""Errors of the producers package; each is a user's mistake or an outside failure, explained.

They derive from :class:`~centinela.exceptions.CentinelaError`, so ``centinela produce`` and
``centinela bootstrap`` print the message and exit non-zero without a traceback.
"""

from __future__ import annotations

from centinela.exceptions import CentinelaError


class ProducerError(CentinelaError):
    """Root of the producers' errors."""


class ScenarioError(ProducerError):
    """An unknown scenario or source, or a drift/source/delay specification that does not parse."""


class DatasetError(ProducerError):
    """A replay file that is missing, unreadable, or does not match its column mapping."""


class PublishError(ProducerError):
    """Kafka refused or lost messages that the producer accepted."""
