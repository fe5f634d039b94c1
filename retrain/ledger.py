"""Alias moves as a compare-and-set: a numbered, append-only ledger of moves in MLflow.

**The problem.** MLflow has no compare-and-set on aliases or tags: ``set_registered_model_alias``
and every ``set_*_tag`` are upserts (the SQL stores ``session.merge`` the row), so two writers
both "succeed" and the last one wins. A history kept as one tag is then a read-modify-write
that loses entries, and a move that checks the champion and then acts can replace a champion
it never saw.

**The primitive.** What MLflow does enforce is the primary key of a run's parameters,
``(key, run_uuid)``, together with the rule that a parameter never changes:
``SqlAlchemyStore.log_param`` inserts the row and commits, and on the database's
``IntegrityError`` it rolls back and raises ``INVALID_PARAMETER_VALUE`` ("Changing param values
is not allowed") unless the stored value is the same. On SQLite the writes are serialised; on
PostgreSQL (and MySQL) the second insert of a key waits for the first transaction and then
violates the key. So "log parameter ``move.<n>``" is a create-if-absent that the database
decides, across any number of processes and servers on one store. (Run tags, model-version tags,
registered-model tags and aliases are upserts and cannot serve; registered-model and experiment
names are unique too, but one experiment or model per move would litter the registry.)

**The ledger.** Each registered model has one ledger run in the experiment
``centinela-alias-moves``; every alias move is one parameter of it, key ``move.<seq>`` (12
digits), value the entry's JSON with a random ``move_id`` (so a retried claim of one's own entry
succeeds, and nobody else's entry can look the same). A move

1. reads the ledger and ``@champion`` and decides from them (the entry names the version it
   expects to replace, ``previous``);
2. claims ``seq = last + 1``. If that number is taken, it reads again: if an entry after the
   one it decided on moved an alias it depends on, it fails with :class:`AliasMoveConflictError`
   (another move happened first; the message says what the champion is now) and changes
   nothing; otherwise (say a challenger was registered meanwhile) it claims the next number;
3. only then moves the alias, and settles it: set ``@champion`` to the latest champion entry,
   read the ledger again, repeat until no newer champion entry appeared. Whoever writes the
   alias last has just seen that no newer entry exists, so once the movers are done the alias
   is the version of the last champion entry, whatever the interleaving.

Entries are never rewritten, so the history cannot lose one, and numbers are contiguous
(a claim of ``n + 1`` follows a read that saw ``n``), so the order is the ledger's.

**Finding the ledger run.** Runs have no unique name, so the run itself is found through a
second enforced primitive: experiment names are unique (``uq_experiments_workspace_name``) and an
experiment is created with its tags in one transaction. The first move on a model creates its
run, copies the old single-tag history into it as ``move.1 .. move.k`` (:data:`HISTORY_TAG` is
read, never written again), then creates the experiment ``centinela-alias-moves/<model>``
tagged with the run id; a process that loses that race deletes its own run and uses the
winner's. Reading never creates anything: without a ledger the old tag is the history.

**Limits.** Every process that moves aliases must run this code: an older one would still
rewrite the tag, which nothing reads once the ledger exists. A change of ``@champion`` outside
Centinela (the MLflow UI) is not in the ledger; the next move sees it as the champion it
replaces (:func:`retrain.history.current_champion`), unless it came within
:data:`~retrain.history.IN_FLIGHT_SECONDS` of the last recorded move, when the ledger wins.
Do not delete the ledger run (MLflow refuses parameters on a deleted run, so moves fail until
it is restored) nor purge the pointer experiment (a new, empty ledger would start).
The guarantee is the database's, so it needs a SQL store (SQLite, PostgreSQL, MySQL, directly or
behind ``mlflow server``); MLflow's file store (``./mlruns``) checks a parameter and then writes
it, which is not atomic between processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from mlflow.entities import Param
from mlflow.exceptions import MlflowException

from centinela.exceptions import RegistryError
from centinela.models import registry
from centinela.models.registry import CHAMPION
from retrain.exceptions import AliasMoveConflictError
from retrain.history import (
    HISTORY_TAG,
    HistoryEntry,
    current_champion,
    last_champion_move,
    last_seq,
    move_param,
    moves_since,
    number_legacy,
    parse_history,
    parse_moves,
)

if TYPE_CHECKING:
    from retrain.catalog import Catalog

log = logging.getLogger(__name__)

LEDGER_EXPERIMENT = "centinela-alias-moves"
LEDGER_RUN_TAG = "centinela.alias_ledger_run"
LEDGER_MODEL_TAG = "centinela.alias_ledger_model"
_PARAM_BATCH = 100  # parameters per log_batch call (MLflow's limit)


def pointer_experiment(model: str) -> str:
    return f"{LEDGER_EXPERIMENT}/{model}"


class LedgerStore(Protocol):
    """Where the entries and the champion alias live (MLflow, or a fake in the tests)."""

    def read(self) -> list[HistoryEntry]:
        """Every entry, in sequence order, each with its ``seq``."""

    def claim(self, entry: HistoryEntry) -> bool:
        """Store ``entry`` under ``entry.seq`` unless that number holds another entry."""

    def champion_alias(self) -> str | None: ...

    def set_champion_alias(self, version: str) -> None: ...


@dataclass(frozen=True)
class Snapshot:
    """The ledger and ``@champion`` as one read saw them."""

    entries: tuple[HistoryEntry, ...]
    alias: str | None
    champion: str | None  # the champion a move made now replaces

    @property
    def last_seq(self) -> int:
        return last_seq(self.entries)


class AliasMoves:
    """The move protocol of the module docstring, over any :class:`LedgerStore`."""

    def __init__(
        self,
        store: LedgerStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        attempts: int = 100,
        settle_rounds: int = 50,
    ) -> None:
        self.store = store
        self.clock = clock
        self.attempts = attempts
        self.settle_rounds = settle_rounds

    def snapshot(self) -> Snapshot:
        entries = tuple(self.store.read())
        alias = self.store.champion_alias()
        return Snapshot(entries, alias, current_champion(entries, alias, now=self.clock()))

    def history(self) -> list[HistoryEntry]:
        return self.store.read()

    def move(
        self,
        build: Callable[[Snapshot], HistoryEntry],
        *,
        conflicts: Callable[[HistoryEntry], bool] | None = None,
    ) -> HistoryEntry:
        """Decide with ``build`` on a fresh snapshot and claim the next number for its entry.

        ``conflicts`` says which entries the decision depends on: one of them recorded after
        the snapshot makes this move fail with :class:`AliasMoveConflictError`, unrecorded; any
        other entry that took the number makes it try the next one. Without ``conflicts`` (a
        challenger registered) nothing conflicts. ``build`` raises to refuse the move (a
        :class:`~retrain.exceptions.ReviewError`).
        """
        snapshot = self.snapshot()
        entry = build(snapshot)
        base = seq = snapshot.last_seq
        for _ in range(self.attempts):
            seq += 1
            claimed = entry.at_seq(seq)
            if self.store.claim(claimed):
                return claimed
            entries = self.store.read()
            newer = moves_since(entries, base, conflicts) if conflicts else []
            if newer:
                raise AliasMoveConflictError.after(
                    entry, newer, _recorded_champion(entries, snapshot)
                )
            seq = last_seq(entries)
        raise RegistryError(
            f"could not record the {entry.action} of {entry.alias} after {self.attempts} "
            "attempts: other moves kept taking the next number"
        )

    def settle(self) -> HistoryEntry | None:
        """Point ``@champion`` at the latest champion entry until no newer one appears;
        return that entry (None when the ledger has none)."""
        latest = last_champion_move(self.store.read())
        for _ in range(self.settle_rounds):
            if latest is None or latest.version is None:
                return None
            self.store.set_champion_alias(latest.version)
            again = last_champion_move(self.store.read())
            if again is not None and again.seq == latest.seq:
                return latest
            latest = again
        log.warning(
            "@champion kept moving while it settled; the last move to finish sets it (now v%s)",
            latest.version if latest else "?",
        )
        return latest


def _recorded_champion(entries: Sequence[HistoryEntry], snapshot: Snapshot) -> str | None:
    last = last_champion_move(entries)
    return last.version if last is not None else snapshot.champion


class MlflowLedger:
    """The ledger of one registered model, in the MLflow store of ``catalog``."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.client = catalog.client
        self.name = catalog.name
        self._run_id: str | None = None

    # --- LedgerStore -----------------------------------------------------------------------
    def read(self) -> list[HistoryEntry]:
        run_id = self._ledger_run(create=False)
        if run_id is None:
            return self._legacy()
        run = self.catalog.call(lambda: self.client.get_run(run_id))
        return parse_moves(run.data.params)

    def claim(self, entry: HistoryEntry) -> bool:
        key, value = move_param(entry)
        run_id = self._ledger_run(create=True)
        assert run_id is not None
        try:
            self.client.log_param(run_id, key, value)
            return True
        except MlflowException as error:
            if error.error_code != "INVALID_PARAMETER_VALUE":
                raise self.catalog.translate(error) from None
            held = self.catalog.call(lambda: self.client.get_run(run_id)).data.params.get(key)
            if held is None:  # refused for another reason (a deleted run, say)
                raise self.catalog.translate(error) from None
            return held == value

    def champion_alias(self) -> str | None:
        return self.catalog.alias(CHAMPION)

    def set_champion_alias(self, version: str) -> None:
        self.catalog.set_alias(CHAMPION, version)

    # --- the ledger run --------------------------------------------------------------------
    def _legacy(self) -> list[HistoryEntry]:
        model = self.catalog.call(lambda: self.client.get_registered_model(self.name))
        return number_legacy(parse_history((model.tags or {}).get(HISTORY_TAG)))

    def _ledger_run(self, *, create: bool) -> str | None:
        if self._run_id is not None:
            return self._run_id
        pointer = pointer_experiment(self.name)
        found = self.catalog.call(lambda: self.client.get_experiment_by_name(pointer))
        if found is not None:
            run_id = (found.tags or {}).get(LEDGER_RUN_TAG)
            if not run_id:
                raise RegistryError(
                    f"experiment {pointer!r} names no alias ledger run ({LEDGER_RUN_TAG}); "
                    "it is Centinela's: delete it only together with its run"
                )
            self._run_id = run_id
            return run_id
        if not create:
            return None
        return self._create_ledger(pointer)

    def _log_params(self, run_id: str, params: list[Param]) -> None:
        self.catalog.call(lambda: self.client.log_batch(run_id, params=params))

    def _create_ledger(self, pointer: str) -> str:
        settings = self.catalog.settings
        experiment_id = registry.ensure_experiment(settings, LEDGER_EXPERIMENT)
        run = self.catalog.call(
            lambda: self.client.create_run(
                experiment_id,
                tags={
                    LEDGER_MODEL_TAG: self.name,
                    "mlflow.note.content": f"Alias moves of model {self.name}, one parameter "
                    "each (move.<seq>); written by Centinela, never edit",
                },
                run_name=f"alias-moves-{self.name}",
            )
        )
        run_id = run.info.run_id
        legacy = [Param(*move_param(entry)) for entry in self._legacy()]
        for start in range(0, len(legacy), _PARAM_BATCH):
            self._log_params(run_id, legacy[start : start + _PARAM_BATCH])
        # FINISHED, yet still open to parameters (only a deleted run refuses them);
        # update_run rather than set_terminated, which prints a link on stdout.
        self.catalog.call(lambda: self.client.update_run(run_id, status="FINISHED"))
        tags = {LEDGER_RUN_TAG: run_id, LEDGER_MODEL_TAG: self.name}
        if registry.create_experiment_if_absent(settings, pointer, tags) is None:
            self.catalog.call(lambda: self.client.delete_run(run_id))  # another process won
            winner = self._ledger_run(create=False)
            if winner is None:
                raise RegistryError(f"experiment {pointer!r} exists but cannot be read")
            return winner
        if legacy:
            log.info(
                "alias history of %s: %d tag entries copied to the ledger", self.name, len(legacy)
            )
        self._run_id = run_id
        return run_id
