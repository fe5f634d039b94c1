"""The alias history and its rollback stack (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from retrain.history import (
    HISTORY_LIMIT,
    IN_FLIGHT_SECONDS,
    HistoryEntry,
    champion_stack,
    current_champion,
    dump_history,
    last_seq,
    move_param,
    moves_since,
    parse_history,
    parse_moves,
    previous_champions,
    rollback_target,
    touches_champion,
)


def _promote(version: str, previous: str | None) -> HistoryEntry:
    return HistoryEntry.now("promote", "champion", version, previous=previous, actor="ana")


def _rollback(version: str, previous: str) -> HistoryEntry:
    return HistoryEntry.now("rollback", "champion", version, previous=previous, actor="bo")


def test_rollbacks_walk_back_through_every_earlier_champion() -> None:
    moves = [_promote("2", "1"), _promote("3", "2"), _promote("4", "3")]
    assert rollback_target(moves, "4") == "3"
    moves.append(_rollback("3", "4"))
    assert rollback_target(moves, "3") == "2"
    moves.append(_rollback("2", "3"))
    assert rollback_target(moves, "2") == "1"
    moves.append(_rollback("1", "2"))
    assert rollback_target(moves, "1") is None


def test_a_promotion_after_a_rollback_stacks_on_the_restored_champion() -> None:
    moves = [_promote("2", "1"), _rollback("1", "2"), _promote("5", "1")]
    assert champion_stack(moves, "5") == ["1", "5"]
    assert previous_champions(moves, "5") == ["1"]


def test_challenger_moves_do_not_count_and_an_outside_move_is_respected() -> None:
    moves = [
        HistoryEntry.now("register", "challenger", "2", request_id="r"),
        _promote("2", "1"),
        HistoryEntry.now("reject", "challenger", "3"),
    ]
    assert champion_stack(moves, "2") == ["1", "2"]
    # Someone set @champion to 7 with the MLflow UI: roll back from 7 to 2.
    assert rollback_target(moves, "7") == "2"


def test_no_history_means_nothing_to_roll_back_to() -> None:
    assert rollback_target([], "1") is None
    assert rollback_target([], None) is None


def test_the_tag_round_trips_and_keeps_the_most_recent_entries() -> None:
    moves = [_promote(str(i + 1), str(i)) for i in range(HISTORY_LIMIT + 5)]
    kept = parse_history(dump_history(moves))
    assert len(kept) == HISTORY_LIMIT
    assert kept[-1] == moves[-1] and kept[0] == moves[5]


def test_a_move_that_replaced_an_unrecorded_champion_puts_it_on_the_stack() -> None:
    # Someone set @champion to 7 by hand; the next promotion replaced 7.
    moves = [_promote("2", "1"), _promote("4", "7")]
    assert champion_stack(moves, "4") == ["1", "2", "7", "4"]
    assert rollback_target(moves, "4") == "7"
    # Back by hand to the champion before: that counts as a rollback, not a new champion.
    moves = [_promote("2", "1"), _promote("3", "2"), _promote("5", "2")]
    assert champion_stack(moves, "5") == ["1", "2", "5"]


def test_the_history_wins_over_a_lagging_alias_only_while_a_move_lands() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    moves = [replace(_promote("3", "2"), at=at.isoformat())]
    assert current_champion(moves, "2", now=at + timedelta(seconds=5)) == "3"
    late = at + timedelta(seconds=IN_FLIGHT_SECONDS + 1)
    assert current_champion(moves, "2", now=late) == "2"
    assert current_champion(moves, "3", now=late) == "3"
    unreadable = [replace(moves[0], at="yesterday")]
    assert current_champion(unreadable, "2", now=at) == "2"


def test_ledger_parameters_round_trip_in_sequence_order() -> None:
    moves = [_promote("2", "1").at_seq(2), _rollback("1", "2").at_seq(10), _promote("2", "1")]
    params = dict(move_param(entry) for entry in moves[:2])
    params["move.000000000003"] = "{not json"
    params["trainer"] = "lbfgs"
    assert parse_moves(params) == moves[:2]
    assert last_seq(parse_moves(params)) == 10
    with pytest.raises(ValueError, match="sequence number"):
        move_param(moves[2])
    assert moves_since(moves[:2], 2, touches_champion) == [moves[1]]
    long = replace(moves[0], reason="x" * 10_000, actor="y" * 1000)
    assert len(move_param(long)[1]) < 6000  # one MLflow parameter
