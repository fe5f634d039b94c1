"""The alias history: who moved which alias to which version, when, and why.

The history is a JSON list kept in one tag of the registered model (``centinela.alias_history``),
so it travels with the registry and needs no store of its own. Rollback replays it as a stack of
champions: a promotion pushes, a rollback pops.

>>> moves = [
...     HistoryEntry.now("promote", "champion", "2", previous="1", actor="ana", reason="better"),
...     HistoryEntry.now("promote", "champion", "3", previous="2", actor="ana", reason="better"),
... ]
>>> champion_stack(moves, current="3")
['1', '2', '3']
>>> rollback_target(moves, current="3")
'2'
>>> moves.append(HistoryEntry.now("rollback", "champion", "2", previous="3", actor="bo"))
>>> rollback_target(moves, current="2")
'1'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

log = logging.getLogger(__name__)

HISTORY_TAG = "centinela.alias_history"
HISTORY_LIMIT = 500  # entries kept in the tag; MLflow allows 100,000 characters per value

Action = Literal["register", "promote", "reject", "rollback"]
PROMOTIONS = ("promote",)


@dataclass(frozen=True)
class HistoryEntry:
    """One alias move."""

    at: str
    action: str
    alias: str
    version: str | None
    previous: str | None = None
    actor: str = "centinela"
    reason: str = ""
    request_id: str | None = None

    @classmethod
    def now(
        cls,
        action: Action,
        alias: str,
        version: str | None,
        *,
        previous: str | None = None,
        actor: str = "centinela",
        reason: str = "",
        request_id: str | None = None,
    ) -> HistoryEntry:
        moment = datetime.now(UTC).isoformat(timespec="seconds")
        return cls(moment, action, alias, version, previous, actor, reason, request_id)

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEntry:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)


def parse_history(text: str | None) -> list[HistoryEntry]:
    """The entries stored in the tag; an unreadable tag counts as empty (and is logged).

    >>> parse_history(None), parse_history("not json")
    ([], [])
    """
    if not text:
        return []
    try:
        return [HistoryEntry.from_dict(item) for item in json.loads(text)]
    except (ValueError, TypeError) as error:
        log.warning("the alias history tag is unreadable (%s); starting a new one", error)
        return []


def dump_history(entries: Sequence[HistoryEntry]) -> str:
    """JSON for the tag, keeping the most recent :data:`HISTORY_LIMIT` entries."""
    kept = list(entries)[-HISTORY_LIMIT:]
    return json.dumps([entry.to_dict() for entry in kept], separators=(",", ":"))


def champion_stack(entries: Sequence[HistoryEntry], current: str | None) -> list[str]:
    """The champions in order, oldest first, ending with ``current``; rolled-back ones removed."""
    stack: list[str] = []
    for entry in entries:
        if entry.alias != "champion" or entry.version is None:
            continue
        if entry.action in PROMOTIONS:
            if not stack and entry.previous:
                stack.append(entry.previous)
            stack.append(entry.version)
        elif entry.action == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != entry.version:
                stack.append(entry.version)
    if current is not None and (not stack or stack[-1] != current):
        stack.append(current)  # the alias was moved outside Centinela; start from what is there
    return stack


def rollback_target(entries: Sequence[HistoryEntry], current: str | None) -> str | None:
    """The champion before ``current``, or None when there is nothing to roll back to."""
    stack = champion_stack(entries, current)
    return stack[-2] if len(stack) >= 2 else None


def previous_champions(entries: Sequence[HistoryEntry], current: str | None) -> list[str]:
    """Earlier champions still on the rollback stack, most recent first."""
    return list(reversed(champion_stack(entries, current)[:-1]))
