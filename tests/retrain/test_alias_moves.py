"""Alias moves as a compare-and-set (retrain/ledger.py), on an in-memory ledger.

The fake keeps the one property the MLflow ledger relies on, a parameter key that can be
written once, and lets a test run another move at the worst moment of this one.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from retrain.exceptions import AliasMoveConflictError, ReviewError
from retrain.history import (
    IN_FLIGHT_SECONDS,
    HistoryEntry,
    dump_history,
    move_param,
    number_legacy,
    parse_history,
    parse_moves,
    touches_champion,
)
from retrain.ledger import AliasMoves, Snapshot
from retrain.review import promotion, promotion_conflicts, rejection, restoration

MODEL = "m"


class FakeLedger:
    """Parameters ``move.<seq>`` that can be written once, and the ``@champion`` alias."""

    def __init__(
        self, alias: str | None = "1", *, entries: list[HistoryEntry] | None = None
    ) -> None:
        self.lock = threading.Lock()
        self.params = dict(move_param(entry) for entry in entries or [])
        self.alias = alias
        self.jitter = 0.0
        self.before_claim: Callable[[HistoryEntry], object] | None = None
        self.before_set_alias: Callable[[str], object] | None = None

    def read(self) -> list[HistoryEntry]:
        self._pause()
        with self.lock:
            return parse_moves(dict(self.params))

    def claim(self, entry: HistoryEntry) -> bool:
        hook, self.before_claim = self.before_claim, None
        if hook:
            hook(entry)
        self._pause()
        key, value = move_param(entry)
        with self.lock:
            held = self.params.setdefault(key, value)
        return held == value

    def champion_alias(self) -> str | None:
        self._pause()
        return self.alias

    def set_champion_alias(self, version: str) -> None:
        hook, self.before_set_alias = self.before_set_alias, None
        if hook:
            hook(version)
        self._pause()
        self.alias = version

    def _pause(self) -> None:
        if self.jitter:
            time.sleep(random.random() * self.jitter)


def promote(
    moves: AliasMoves,
    target: str,
    actor: str = "ana",
    *,
    expected: str | None = None,
    force: bool = False,
) -> HistoryEntry:
    entry = moves.move(
        lambda s: promotion(
            s, MODEL, target, actor=actor, reason="r", expected=expected, force=force
        ),
        conflicts=promotion_conflicts(target),
    )
    moves.settle()
    return entry


def rollback(moves: AliasMoves, actor: str = "bo", *, expected: str | None = None) -> HistoryEntry:
    entry = moves.move(
        lambda s: restoration(s, MODEL, actor=actor, reason="r", expected=expected),
        conflicts=touches_champion,
    )
    moves.settle()
    return entry


def champions(entries: list[HistoryEntry], start: str = "1") -> list[str]:
    """Replay the history as the test understands rollback: a promotion pushes, a rollback
    pops and must land on the version below. Also checks that no move was lost: each one
    replaced the champion the one before it left."""
    stack = [start]
    for entry in entries:
        if not entry.moves_champion:
            continue
        assert entry.previous == stack[-1], f"move {entry.seq} replaced a champion it never saw"
        if entry.action == "promote":
            stack.append(str(entry.version))
        else:
            stack.pop()
            assert stack[-1] == entry.version, f"rollback {entry.seq} went to the wrong version"
    return stack


def test_the_move_that_claims_second_fails_cleanly_and_records_nothing() -> None:
    ledger = FakeLedger("1")
    moves = AliasMoves(ledger)
    promote(moves, "2")

    # Bo decides to roll back from v2; before he records it, Ana promotes v3.
    ledger.before_claim = lambda entry: promote(AliasMoves(ledger), "3", actor="ana")
    with pytest.raises(AliasMoveConflictError, match="another move happened first") as caught:
        rollback(moves, actor="bo")
    assert caught.value.champion == "3"
    assert "ana did promote of champion to v3 (move 2)" in str(caught.value)
    assert [(e.seq, e.action, e.version, e.actor) for e in ledger.read()] == [
        (1, "promote", "2", "ana"),
        (2, "promote", "3", "ana"),
    ]
    assert ledger.alias == "3"
    # Tried again, the rollback sees v3 and goes back to v2.
    assert rollback(moves).version == "2" and ledger.alias == "2"


def test_a_move_of_another_alias_only_pushes_the_claim_to_the_next_number() -> None:
    ledger = FakeLedger("1")
    moves = AliasMoves(ledger)
    registered = HistoryEntry.now("register", "challenger", "3", actor="centinela-retrain")
    ledger.before_claim = lambda entry: AliasMoves(ledger).move(lambda s: registered)
    entry = promote(moves, "2")
    assert (entry.seq, ledger.alias) == (2, "2")
    assert [e.action for e in ledger.read()] == ["register", "promote"]


def test_a_rejection_recorded_first_stops_the_promotion_of_that_version() -> None:
    ledger = FakeLedger("1")
    moves = AliasMoves(ledger)

    def reject_three(entry: HistoryEntry) -> None:
        AliasMoves(ledger).move(
            lambda s: rejection(s, MODEL, "3", actor="ana", reason="overfits"),
            conflicts=touches_champion,
        )

    ledger.before_claim = reject_three
    with pytest.raises(AliasMoveConflictError, match="ana did reject of challenger to v3"):
        promote(moves, "3", actor="bo")
    with pytest.raises(ReviewError, match=r"rejected by ana \(overfits\)"):
        promote(moves, "3", actor="bo")  # recorded now, whatever the tags say
    assert promote(moves, "3", actor="bo", force=True).previous == "1"


def test_a_stale_alias_write_is_put_right_by_the_mover_that_wrote_it() -> None:
    ledger = FakeLedger("1")
    moves = AliasMoves(ledger)
    # Ana records "promote 2"; before her alias write lands, Bo records and lands "promote 3";
    # then Ana's write of v2 arrives late.
    ledger.before_set_alias = lambda version: promote(AliasMoves(ledger), "3", actor="bo")
    entry = promote(moves, "2")
    assert entry.seq == 1
    assert [(e.version, e.previous) for e in ledger.read()] == [("2", "1"), ("3", "2")]
    assert ledger.alias == "3"  # Ana's settle saw Bo's entry after her write and followed it


def test_expect_names_the_version_a_move_replaces() -> None:
    ledger = FakeLedger("1")
    moves = AliasMoves(ledger)
    with pytest.raises(AliasMoveConflictError, match="the champion is v1, not v5 as expected"):
        promote(moves, "2", expected="5")
    assert ledger.read() == [] and ledger.alias == "1"
    assert promote(moves, "2", expected="1").previous == "1"
    assert rollback(moves, expected="2").version == "1"


def test_a_move_that_stopped_before_its_alias_is_finished_by_the_next_one() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ledger = FakeLedger("1")
    moves = AliasMoves(ledger, clock=lambda: now)
    stopped = HistoryEntry(now.isoformat(), "promote", "champion", "2", "1", move_id="x", seq=1)
    assert ledger.claim(stopped)  # ... and the process died before moving @champion
    assert moves.snapshot().champion == "2"  # the history wins while the move may be landing
    assert promote(moves, "3").previous == "2"
    assert ledger.alias == "3" and champions(ledger.read()) == ["1", "2", "3"]


def test_an_alias_moved_by_hand_is_the_champion_the_next_move_replaces() -> None:
    later = datetime.now(UTC) + timedelta(seconds=IN_FLIGHT_SECONDS + 1)
    ledger = FakeLedger("1")
    promote(AliasMoves(ledger), "2")
    ledger.alias = "7"  # someone used the MLflow UI
    moves = AliasMoves(ledger, clock=lambda: later)
    assert moves.snapshot().champion == "7"
    assert rollback(moves).version == "2"  # from 7 back to 2, recorded as replacing 7
    assert ledger.read()[-1].previous == "7" and ledger.alias == "2"


def test_the_old_tag_history_is_the_start_of_the_ledger() -> None:
    old = [
        HistoryEntry.now("promote", "champion", "2", previous="1", actor="ana"),
        HistoryEntry.now("register", "challenger", "3", actor="centinela-retrain"),
        HistoryEntry.now("promote", "champion", "3", previous="2", actor="ana"),
    ]
    migrated = number_legacy(parse_history(dump_history(old)))
    assert [e.seq for e in migrated] == [1, 2, 3]
    assert number_legacy(parse_history(dump_history(old))) == migrated  # same in every process
    ledger = FakeLedger("3", entries=migrated)
    moves = AliasMoves(ledger)
    assert rollback(moves).version == "2"
    assert rollback(moves).version == "1"
    assert [e.seq for e in ledger.read()] == [1, 2, 3, 4, 5]


def act(
    ledger: FakeLedger, barrier: threading.Barrier, actor: str, i: int
) -> tuple[str, str, HistoryEntry | Exception]:
    """Odd ``i`` rolls back, even ``i`` promotes v2, v3 or v4; all start together."""
    moves = AliasMoves(ledger)
    barrier.wait()
    try:
        if i % 2:
            return actor, "ok", rollback(moves, actor=actor)
        return actor, "ok", promote(moves, str(2 + (i // 2) % 3), actor=actor)
    except AliasMoveConflictError as error:
        return actor, "conflict", error
    except ReviewError as error:
        return actor, "refused", error


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concurrent_promotions_and_rollbacks_lose_nothing(seed: int) -> None:
    random.seed(seed)
    ledger = FakeLedger("1")
    ledger.jitter = 0.002
    outcomes: list[tuple[str, str, HistoryEntry | Exception]] = []
    for round_ in range(3):
        barrier = threading.Barrier(10)
        with ThreadPoolExecutor(10) as pool:
            actors = [f"op{round_}-{i}" for i in range(10)]
            outcomes.extend(pool.map(act, [ledger] * 10, [barrier] * 10, actors, range(10)))

    history = ledger.read()
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    done = [result for _, _, result in outcomes if isinstance(result, HistoryEntry)]
    assert sorted(e.actor for e in history) == sorted(e.actor for e in done)
    for entry in done:
        assert history[(entry.seq or 0) - 1] == entry, f"{entry.actor}'s move is not recorded"
    for _, kind, outcome in outcomes:
        if kind == "refused":
            assert "already the champion" in str(outcome) or "no earlier champion" in str(outcome)
    assert any(kind == "conflict" for _, kind, _ in outcomes)
    stack = champions(history)
    assert ledger.alias == stack[-1] == history[-1].version
    if len(stack) == 1:
        with pytest.raises(ReviewError, match="no earlier champion"):
            rollback(AliasMoves(ledger))
        return
    final = rollback(AliasMoves(ledger))
    assert (final.version, final.previous) == (stack[-2], stack[-1])
    assert ledger.alias == final.version


def test_snapshot_reads_the_history_and_the_alias() -> None:
    ledger = FakeLedger("4")
    snapshot = AliasMoves(ledger).snapshot()
    assert snapshot == Snapshot((), "4", "4") and snapshot.last_seq == 0
