"""The challenger the stream scores in the shadow, and its hot swap (docs/architecture.md,
"Shadow scoring").

While a version carries the ``challenger`` alias, every batch is also scored by it and its
predictions go to ``shadow-predictions`` (:mod:`stream.shadow`). Having no challenger is the
usual state, not a problem: the worker stays ready. The challenger is dropped when its alias
is removed (a rejection) or names the champion's version (a promotion, before the review flow
removes the alias), and loaded and swapped like the champion, without a restart.
"""

from __future__ import annotations

from centinela.contract.settings import Settings
from centinela.models.registry import CHALLENGER, CHAMPION, alias_version
from stream.champion import AliasLookup, Loader, ModelHolder, load_version

# ModelEvents after which the challenger alias may have moved (a promotion moves the champion
# onto it; a rollback may move the champion back beside it).
CHALLENGER_EVENTS = frozenset({"registered", "rejected", "promoted", "rolled_back"})


def challenger_version(settings: Settings) -> str | None:
    """The version to score in the shadow: the challenger, unless it is the champion."""
    wanted = alias_version(settings, CHALLENGER)
    if wanted is None or wanted == alias_version(settings, CHAMPION):
        return None
    return wanted


class ChallengerHolder(ModelHolder):
    """The challenger, if there is one; ``current`` is None when there is none."""

    def __init__(
        self,
        settings: Settings,
        *,
        loader: Loader = load_version,
        alias_lookup: AliasLookup = challenger_version,
    ) -> None:
        super().__init__(
            settings,
            alias=CHALLENGER,
            role="shadow",
            required=False,
            loader=loader,
            alias_lookup=alias_lookup,
        )
