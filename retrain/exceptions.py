"""Errors of the retrain worker and the review flow.

Each derives from :class:`~centinela.exceptions.CentinelaError`, so ``centinela`` prints the message
and exits 2 instead of showing a traceback. The worker turns the permanent ones into a
``failed`` ModelEvent and moves on; only transient ones (broker or MLflow away) are retried.
"""

from __future__ import annotations

from centinela.exceptions import CentinelaError


class RetrainError(CentinelaError):
    """A retrain request cannot be carried out; the message says why."""


class TrainingDataError(RetrainError):
    """The requested slice of ``labeled`` is not fit to train on.

    ``reason`` is a short stable code (``empty_range``, ``too_few_rows``, ``missing_class``,
    ``unknown_class``, ``nan_features``, ``schema_mismatch``) carried in the ``failed``
    ModelEvent; ``detail`` says what exactly was wrong.
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"invalid training data: {reason}: {detail}")


class UnknownModelError(RetrainError):
    """A request or a command names a model the registry does not hold."""


class ReviewError(CentinelaError):
    """A review move (promote, reject, rollback) is not possible; the message says why."""
