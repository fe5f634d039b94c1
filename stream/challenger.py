"""The challenger the stream scores in the shadow, and its hot swap (docs/architecture.md,
"Shadow scoring").

While a version carries the ``challenger`` alias, every batch is also scored by it and its
predictions go to ``shadow-predictions`` (:mod:`stream.shadow`). Having no challenger is the
usual state, not a problem: the worker stays ready. The challenger is dropped when its alias
is removed (a rejection) or names the champion's version (a promotion, before the review flow
removes the alias), and loaded and swapped like the champion, without a restart.

With ``CENTINELA_CANARY_SHARE``, the holder also says what share of events the challenger
serves (:mod:`stream.canary`): the setting, until the version carries the tag by which the
retrain worker stopped its canary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from centinela.contract.settings import Settings
from centinela.models.registry import (
    CANARY_STOPPED_TAG,
    CHALLENGER,
    CHAMPION,
    alias_version,
    client,
)
from stream.champion import AliasLookup, Loader, ModelHolder, load_version

log = logging.getLogger(__name__)

StopLookup = Callable[[Settings, str], "str | None"]

# ModelEvents after which the challenger alias may have moved (a promotion moves the champion
# onto it; a rollback may move the champion back beside it).
# A stopped canary is a tag on the version: the holder reads it again on that event too.
CHALLENGER_EVENTS = frozenset(
    {"registered", "rejected", "promoted", "rolled_back", "canary_stopped"}
)


def challenger_version(settings: Settings) -> str | None:
    """The version to score in the shadow: the challenger, unless it is the champion."""
    wanted = alias_version(settings, CHALLENGER)
    if wanted is None or wanted == alias_version(settings, CHAMPION):
        return None
    return wanted


def canary_stop_reason(settings: Settings, version: str) -> str | None:
    """Why the canary of ``version`` stopped (its tag), or None while it may serve."""
    tags = client(settings).get_model_version(settings.model_name, version).tags
    return tags.get(CANARY_STOPPED_TAG) or None


class ChallengerHolder(ModelHolder):
    """The challenger, if there is one; ``current`` is None when there is none."""

    def __init__(
        self,
        settings: Settings,
        *,
        loader: Loader = load_version,
        alias_lookup: AliasLookup = challenger_version,
        stop_lookup: StopLookup = canary_stop_reason,
    ) -> None:
        super().__init__(
            settings,
            alias=CHALLENGER,
            role="shadow",
            required=False,
            loader=loader,
            alias_lookup=alias_lookup,
        )
        self._stop_lookup = stop_lookup
        self._stopped: dict[str, str] = {}  # version -> why its canary stopped

    @property
    def canary_share(self) -> float:
        """The share of events the current challenger serves (0 once its canary stopped)."""
        current = self.current
        if current is None or current.version in self._stopped:
            return 0.0
        return self.settings.canary_share

    def canary_stopped(self) -> str | None:
        """Why the current challenger's canary stopped, if it did."""
        return None if self.current is None else self._stopped.get(self.current.version)

    async def refresh(self) -> None:
        """Look up the alias (:meth:`ModelHolder.refresh`) and, with a canary, whether the
        retrain worker stopped it. Never raises: a failed look keeps what was known."""
        await super().refresh()
        held = self._next or self.current
        if self.settings.canary_share <= 0 or held is None or held.version in self._stopped:
            return
        try:
            loop = asyncio.get_running_loop()
            reason = await loop.run_in_executor(
                None, self._stop_lookup, self.settings, held.version
            )
        except Exception as error:  # the registry is away: the canary keeps its last state
            log.warning("could not read whether the canary of v%s stopped: %s", held.version, error)
            return
        if reason:
            self._stopped[held.version] = reason
            log.warning(
                "the canary of challenger v%s stops; the champion serves every event: %s",
                held.version,
                reason,
            )
