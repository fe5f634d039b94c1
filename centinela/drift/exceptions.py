"""Errors of the drift package; each derives from :class:`centinela.exceptions.CentinelaError`."""

from __future__ import annotations

from centinela.exceptions import CentinelaError


class DriftError(CentinelaError):
    """A drift computation cannot run on the data given; the message says why."""


class SummaryMismatchError(DriftError):
    """Two window summaries (or a summary and a profile) do not describe the same window."""


class UnknownTestError(DriftError):
    """A drift test or detector name that is not registered."""


class UnknownClassError(DriftError):
    """A predicted class or label that is not one of the model's classes."""
