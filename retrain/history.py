"""The alias history: who moved which alias to which version, when, and why.

Every move is one immutable, numbered entry (``seq`` 1, 2, 3, ...) in the move ledger of
:mod:`retrain.ledger`; nothing rewrites an entry, so the history cannot lose one. Older
registries kept the history as a JSON list in one tag of the registered model
(``centinela.alias_history``, a read-modify-write that concurrent moves could overwrite); that
tag is still read, and its entries become the first entries of the ledger when the ledger is
created. This module is pure: the entries, and what they say about the champion.

Rollback replays the history as a stack of champions: a promotion pushes, a rollback pops.

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
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

log = logging.getLogger(__name__)

HISTORY_TAG = "centinela.alias_history"  # the old single-tag history, read only
HISTORY_LIMIT = 500  # entries the old tag kept; MLflow allows 100,000 characters per value
CHAMPION_ALIAS = "champion"  # as centinela.models.registry.CHAMPION; this module imports nothing

# A champion entry whose alias has not caught up for this long is no longer "in flight": the
# alias was moved outside Centinela (or a move stopped before moving it). See current_champion.
IN_FLIGHT_SECONDS = 60.0

MOVE_PARAM_PREFIX = "move."
_MOVE_PARAM = re.compile(r"^move\.(\d{1,12})$")
_REASON_LIMIT = 1000  # a ledger entry is one MLflow parameter: 6,000 characters at most
_ACTOR_LIMIT = 200

Action = Literal["register", "promote", "reject", "rollback"]
PROMOTIONS = ("promote",)
CHAMPION_MOVES = ("promote", "rollback")


@dataclass(frozen=True)
class HistoryEntry:
    """One alias move; ``previous`` is the version it expected to replace.

    ``seq`` is the entry's place in the ledger (None until claimed) and ``move_id`` makes every
    move's entry unique, so that retrying a claim is harmless and two moves never look alike.
    """

    at: str
    action: str
    alias: str
    version: str | None
    previous: str | None = None
    actor: str = "centinela"
    reason: str = ""
    request_id: str | None = None
    seq: int | None = None
    move_id: str | None = None

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
        moment = datetime.now(UTC).isoformat(timespec="milliseconds")
        return cls(
            moment,
            action,
            alias,
            version,
            previous,
            actor[:_ACTOR_LIMIT],
            reason[:_REASON_LIMIT],
            request_id,
            move_id=uuid.uuid4().hex,
        )

    @property
    def moves_champion(self) -> bool:
        return self.alias == CHAMPION_ALIAS and self.action in CHAMPION_MOVES and bool(self.version)

    def at_seq(self, seq: int) -> HistoryEntry:
        return replace(self, seq=seq)

    def moment(self) -> datetime | None:
        try:
            moment = datetime.fromisoformat(self.at)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEntry:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)


# --- the ledger's form: one MLflow parameter per entry ----------------------------------------
def move_param(entry: HistoryEntry) -> tuple[str, str]:
    """The entry as a ledger parameter: key ``move.<seq, 12 digits>``, value its JSON.

    >>> entry = HistoryEntry("2026-01-01T00:00:00+00:00", "promote", "champion", "2", "1",
    ...                      move_id="m1", seq=7)
    >>> key, value = move_param(entry)
    >>> key, json.loads(value)["previous"], "seq" in json.loads(value)
    ('move.000000000007', '1', False)
    >>> parse_moves({key: value, "unrelated": "x"}) == [entry]
    True
    """
    if entry.seq is None or entry.seq < 1:
        raise ValueError(f"an entry needs a sequence number to be stored, not {entry.seq!r}")
    data = entry.to_dict()
    data.pop("seq", None)
    data["actor"] = entry.actor[:_ACTOR_LIMIT]
    data["reason"] = entry.reason[:_REASON_LIMIT]
    return f"{MOVE_PARAM_PREFIX}{entry.seq:012d}", json.dumps(data, separators=(",", ":"))


def parse_moves(params: Mapping[str, str]) -> list[HistoryEntry]:
    """The ledger's entries in sequence order; other parameters are ignored, an unreadable
    entry is logged and skipped (it still holds its number)."""
    entries = []
    for key, value in params.items():
        found = _MOVE_PARAM.match(key)
        if not found:
            continue
        try:
            entries.append(HistoryEntry.from_dict(json.loads(value)).at_seq(int(found.group(1))))
        except (ValueError, TypeError) as error:
            log.warning("alias history entry %s is unreadable (%s); skipped", key, error)
    return sorted(entries, key=lambda entry: entry.seq or 0)


def last_seq(entries: Sequence[HistoryEntry]) -> int:
    return max((entry.seq or 0 for entry in entries), default=0)


# --- the old form: a JSON list in one tag -----------------------------------------------------
def parse_history(text: str | None) -> list[HistoryEntry]:
    """The entries stored in the old tag; an unreadable tag counts as empty (and is logged).

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
    """JSON for the old tag, keeping the most recent :data:`HISTORY_LIMIT` entries."""
    kept = list(entries)[-HISTORY_LIMIT:]
    return json.dumps([entry.to_dict() for entry in kept], separators=(",", ":"))


def number_legacy(entries: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    """The old tag's entries as the first entries of a ledger: seq 1, 2, ... and a move id
    that is the same in every process (so that two processes migrating write the same)."""
    return [
        replace(entry, seq=index, move_id=entry.move_id or f"legacy-{index}")
        for index, entry in enumerate(entries, start=1)
    ]


# --- what the entries say about the champion --------------------------------------------------
def _arrive(stack: list[str], version: str) -> None:
    """The champion became ``version`` without a recorded move (outside Centinela, or a move
    interrupted before its alias moved): back to the one before the top is a rollback, any
    other version a promotion."""
    if stack and stack[-1] == version:
        return
    if len(stack) >= 2 and stack[-2] == version:
        stack.pop()
    else:
        stack.append(version)


def champion_stack(entries: Sequence[HistoryEntry], current: str | None) -> list[str]:
    """The champions in order, oldest first, ending with ``current``; rolled-back ones removed.

    A move whose ``previous`` is not the champion the history left (the alias was moved
    outside Centinela in between) first puts that version in its place.

    >>> outside = [HistoryEntry.now("promote", "champion", "2", previous="1"),
    ...            HistoryEntry.now("promote", "champion", "4", previous="7")]
    >>> champion_stack(outside, "4")
    ['1', '2', '7', '4']
    """
    stack: list[str] = []
    for entry in entries:
        if not entry.moves_champion or entry.version is None:
            continue
        if entry.previous:
            _arrive(stack, entry.previous)
        if entry.action in PROMOTIONS:
            stack.append(entry.version)
        else:  # rollback
            if stack:
                stack.pop()
            if not stack or stack[-1] != entry.version:
                stack.append(entry.version)
    if current is not None:
        _arrive(stack, current)  # the alias was moved outside Centinela; start from what is there
    return stack


def rollback_target(entries: Sequence[HistoryEntry], current: str | None) -> str | None:
    """The champion before ``current``, or None when there is nothing to roll back to."""
    stack = champion_stack(entries, current)
    return stack[-2] if len(stack) >= 2 else None


def previous_champions(entries: Sequence[HistoryEntry], current: str | None) -> list[str]:
    """Earlier champions still on the rollback stack, most recent first."""
    return list(reversed(champion_stack(entries, current)[:-1]))


def last_champion_move(entries: Sequence[HistoryEntry]) -> HistoryEntry | None:
    """The most recent entry that moved the champion."""
    return next((entry for entry in reversed(entries) if entry.moves_champion), None)


def current_champion(
    entries: Sequence[HistoryEntry],
    alias: str | None,
    *,
    now: datetime,
    in_flight_seconds: float = IN_FLIGHT_SECONDS,
) -> str | None:
    """The champion a new move replaces: what the history says, unless the alias says otherwise
    for longer than a move takes to land.

    A move records its entry first and moves the alias after, so for a moment the alias lags
    the history; then the history is right. An alias that disagrees with an older entry was
    moved outside Centinela (or a move stopped before moving it), and the alias is what serves.

    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> moves = [HistoryEntry(at.isoformat(), "promote", "champion", "3", previous="2")]
    >>> current_champion(moves, "2", now=at)                          # still landing
    '3'
    >>> current_champion(moves, "7", now=at.replace(hour=1))          # moved by hand
    '7'
    >>> current_champion([], "1", now=at), current_champion(moves, None, now=at)
    ('1', '3')
    """
    last = last_champion_move(entries)
    if last is None:
        return alias
    if alias is None or alias == last.version:
        return last.version
    moment = last.moment()
    if moment is None or (now - moment).total_seconds() > in_flight_seconds:
        return alias
    return last.version


def moves_since(
    entries: Sequence[HistoryEntry], seq: int, conflicts: Callable[[HistoryEntry], bool]
) -> list[HistoryEntry]:
    """Entries after ``seq`` that ``conflicts`` says a move decided at ``seq`` depends on."""
    return [entry for entry in entries if (entry.seq or 0) > seq and conflicts(entry)]


def touches_champion(entry: HistoryEntry) -> bool:
    """A move decided on the champion depends on every later move of it."""
    return entry.alias == CHAMPION_ALIAS
