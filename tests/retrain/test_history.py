"""The alias history and its rollback stack (pure)."""

from __future__ import annotations

from retrain.history import (
    HISTORY_LIMIT,
    HistoryEntry,
    champion_stack,
    dump_history,
    parse_history,
    previous_champions,
    rollback_target,
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
