"""Errors of the retrain worker and the review flow.

Each derives from :class:`~centinela.exceptions.CentinelaError`, so ``centinela`` prints the message
and exits 2 instead of showing a traceback. The worker turns the permanent ones into a
``failed`` ModelEvent and moves on; only transient ones (broker or MLflow away) are retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Self

from centinela.exceptions import CentinelaError

if TYPE_CHECKING:
    from retrain.history import HistoryEntry


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


class AliasMoveConflictError(ReviewError):
    """Another move of the alias happened first; this one changed nothing.

    ``champion`` is the champion now, as far as the alias history knows.
    """

    def __init__(self, message: str, *, champion: str | None) -> None:
        self.champion = champion
        super().__init__(message)

    @classmethod
    def after(
        cls, entry: HistoryEntry, newer: Sequence[HistoryEntry], champion: str | None
    ) -> Self:
        """``entry`` lost to the moves in ``newer``, recorded after what it decided on."""
        first = newer[0]
        others = f" (and {len(newer) - 1} more)" if len(newer) > 1 else ""
        return cls(
            f"another move happened first: {first.actor} did {first.action} of {first.alias} "
            f"to v{first.version} (move {first.seq}){others}; the champion is now "
            f"{_version(champion)}. Your {entry.action} of v{entry.version} was not recorded "
            "and nothing changed; see `centinela models status` and try again",
            champion=champion,
        )

    @classmethod
    def unexpected(cls, action: str, expected: str, champion: str | None) -> Self:
        """The champion is not the version the move was told to expect."""
        return cls(
            f"the champion is {_version(champion)}, not v{expected} as expected; the {action} "
            "was not recorded and nothing changed; see `centinela models status`",
            champion=champion,
        )


def _version(version: str | None) -> str:
    return f"v{version}" if version else "unset"
